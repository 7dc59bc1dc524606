#include "data/npy.h"

#include "data/atomic_file.h"

#include <cstring>

#include "data/file_read.h"

namespace hc {

void write_npy(const std::string& path, const Tensor& t) {
  HC_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::I32, path, ": .npy output supports float32 and int32, got ",
           t.desc());
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + (t.dim() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
  shape += ")";
  std::string header = std::string("{'descr': '") + (t.dtype() == DType::F32 ? "<f4" : "<i4") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n', padded with spaces to a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  AtomicFile out(path);
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  unsigned char lb[2] = {static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>(len >> 8)};
  out.write(lb, 2);
  out.write(header);
  Tensor host = t.to(Device::CPU);
  out.write(host.raw_data(), static_cast<size_t>(host.numel()) * 4);
  out.commit();
}

namespace {

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
// A small strict reader of exactly that; anything else is an error naming the file.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false, have_descr = false, have_order = false, have_shape = false;
  Shape shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      std::string key = quoted();
      expect(':');
      skip_space();
      if (key == "descr") {
        h.descr = quoted();
        h.have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        h.have_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        h.have_shape = true;
      } else {
        fail(cat("unknown key '", key.substr(0, 40), "'"));
      }
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail("expected ',' or '}'");
    }
    if (!h.have_descr || !h.have_order || !h.have_shape) fail("'descr', 'fortran_order' or 'shape' is missing");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(cat(path_, ": malformed .npy header at character ", at_, ": ", why));
  }
  char peek() const { return at_ < s_.size() ? s_[at_] : '\0'; }
  void skip_space() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t')) ++at_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(cat("expected '", c, "'"));
    ++at_;
  }
  std::string quoted() {
    skip_space();
    char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    size_t end = s_.find(q, at_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(at_ + 1, end - at_ - 1);
    at_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.compare(at_, 4, "True") == 0) return at_ += 4, true;
    if (s_.compare(at_, 5, "False") == 0) return at_ += 5, false;
    fail("expected True or False");
  }
  // "(2, 3)", "(5,)" or "()"; each dimension a non-negative decimal that fits in int64.
  Shape tuple() {
    Shape shape;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (shape.size() >= 32) fail("more than 32 dimensions");
      if (peek() < '0' || peek() > '9') fail("a dimension must be a non-negative integer");
      int64_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (__builtin_mul_overflow(d, 10, &d) || __builtin_add_overflow(d, peek() - '0', &d))
          fail("a dimension does not fit in int64");
        ++at_;
      }
      if (peek() == 'L') ++at_;  // Python 2's long suffix
      shape.push_back(d);
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      skip_space();
      if (peek() != ')') fail("expected ',' or ')' in the shape");
    }
    ++at_;
    return shape;
  }

  const std::string& s_;
  const std::string& path_;
  size_t at_ = 0;
};

}  // namespace

Tensor read_npy(const std::string& path) {
  InputFile in(path, ".npy file");
  char magic[10];
  HC_CHECK(in.size() >= 10 && in.read_at(magic, 10, 0) && std::memcmp(magic, "\x93NUMPY", 6) == 0, path,
           ": not a version-1 .npy file (no \\x93NUMPY magic)");
  HC_CHECK(magic[6] == 1, path, ": not a version-1 .npy file (format version ",
           static_cast<int>(static_cast<unsigned char>(magic[6])), ".",
           static_cast<int>(static_cast<unsigned char>(magic[7])), "; only 1.0 is read)");
  const size_t len = static_cast<unsigned char>(magic[8]) | (static_cast<unsigned char>(magic[9]) << 8);
  HC_CHECK(len <= in.size() - 10, path, ": header of ", len, " bytes runs past the end of the file (", in.size(),
           " bytes)");
  std::string header(len, '\0');
  HC_CHECK(in.read_at(header.data(), len, 10), path, ": file shrank while being read");
  NpyHeader h = HeaderParser(header, path).parse();
  DType dt;
  if (h.descr == "<f4") dt = DType::F32;
  else if (h.descr == "<i4") dt = DType::I32;
  else throw Error(cat(path, ": dtype '", h.descr.substr(0, 20), "': only little-endian float32 ('<f4') and int32 "
                         "('<i4') arrays are read"));
  HC_CHECK(!h.fortran_order, path, ": Fortran-order arrays are not supported");
  int64_t n = 0;
  HC_CHECK(checked_numel(h.shape, 4, &n), path, ": shape ", shape_str(h.shape), " has more elements than int64 holds");
  const uint64_t data_start = 10 + len, data = in.size() - data_start, want = static_cast<uint64_t>(n) * 4;
  HC_CHECK(data == want, path, ": ", data, " bytes of data, but shape ", shape_str(h.shape), " of ", h.descr,
           " needs ", want, data < want ? " (truncated)" : " (trailing bytes)");
  Tensor t = Tensor::empty(h.shape, dt);
  if (want) HC_CHECK(in.read_at(t.raw_data(), want, data_start), path, ": file shrank while being read");
  return t;
}

}  // namespace hc
