#include "data/safetensors.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/json_field.h"
#include "data/atomic_file.h"
#include "data/file_read.h"

namespace hc {

using json = nlohmann::json;

bool SafeTensors::has(const std::string& name) const {
  for (auto& t : tensors)
    if (t.first == name) return true;
  return false;
}

const Tensor& SafeTensors::get(const std::string& name) const {
  for (auto& t : tensors)
    if (t.first == name) return t.second;
  throw Error(cat(path, ": no tensor named '", name, "'"));
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

static float bf16_to_float(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

int64_t SafeTensors::total_elements() const {
  int64_t n = 0;
  for (auto& t : tensors) n += t.second.numel();
  return n;
}

int64_t SafeTensorsHeader::total_elements() const {
  int64_t n = 0;
  for (const SafeTensorsEntry& e : entries) n += e.numel;  // the entries tile the file: no overflow
  return n;
}

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr size_t kMaxRank = 16;

int64_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F64") return 8;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

SafeTensorsHeader parse_header(const InputFile& in) {
  const std::string& path = in.path();
  const uint64_t file_size = in.size();
  HC_CHECK(file_size >= 8, path, ": not a safetensors file (", file_size, " bytes, too short for a header)");
  unsigned char len_bytes[8];
  HC_CHECK(in.read_at(len_bytes, 8, 0), path, ": file shrank while being read");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  HC_CHECK(header_len <= file_size - 8, path, ": header length ", header_len,
           " runs past the end of the file (", file_size, " bytes): truncated or not safetensors");
  HC_CHECK(header_len <= kMaxHeaderBytes, path, ": header length ", header_len, " is over the limit of ",
           kMaxHeaderBytes, " bytes");
  std::string header(header_len, '\0');
  HC_CHECK(in.read_at(header.data(), header_len, 8), path, ": file shrank while being read");
  json h;
  try {
    h = json::parse(header);
  } catch (const std::exception& e) {
    throw Error(cat(path, ": header is not valid JSON (", e.what(), ")"));
  }
  HC_CHECK(h.is_object(), path, ": header is not a JSON object");

  SafeTensorsHeader out;
  out.path = path;
  out.data_start = 8 + header_len;
  const uint64_t data_size = file_size - out.data_start;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      HC_CHECK(it.value().is_object(), path, ": __metadata__ is not an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        HC_CHECK(m.value().is_string(), path, ": metadata '", m.key(), "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string what = cat(path, ": tensor '", it.key(), "'");
    const json& t = it.value();
    HC_CHECK(t.is_object() && t.contains("dtype") && t.contains("shape") && t.contains("data_offsets"), what,
             " lacks dtype, shape or data_offsets");
    SafeTensorsEntry e;
    e.name = it.key();
    e.dtype = json_string(t["dtype"], what + ": dtype");
    const int64_t esize = dtype_bytes(e.dtype);
    HC_CHECK(esize > 0, what, " has unsupported dtype ", e.dtype.substr(0, 20), " (F32, F64, I32, F16, BF16 are read)");
    const json& shape = t["shape"];
    HC_CHECK(shape.is_array() && shape.size() <= kMaxRank, what, ": shape must be an array of at most ", kMaxRank,
             " dimensions");
    for (const json& d : shape) e.shape.push_back(json_int(d, 0, INT64_MAX, what + ": shape dimension"));
    HC_CHECK(checked_numel(e.shape, esize, &e.numel), what, ": shape ", shape_str(e.shape),
             " has more elements than int64 holds");
    const json& off = t["data_offsets"];
    HC_CHECK(off.is_array() && off.size() == 2, what, ": data_offsets must be [begin, end]");
    e.begin = static_cast<uint64_t>(json_int(off[0], 0, INT64_MAX, what + ": data_offsets[0]"));
    e.end = static_cast<uint64_t>(json_int(off[1], 0, INT64_MAX, what + ": data_offsets[1]"));
    HC_CHECK(e.begin <= e.end && e.end <= data_size, what, " lies at bytes [", e.begin, ", ", e.end,
             ") outside the data section of ", data_size, " bytes: the file is truncated or corrupt");
    const uint64_t bytes = static_cast<uint64_t>(e.numel) * static_cast<uint64_t>(esize);
    HC_CHECK(e.end - e.begin == bytes, what, " holds ", e.end - e.begin, " bytes but shape ", shape_str(e.shape),
             " of ", e.dtype, " needs ", bytes);
    out.entries.push_back(std::move(e));
  }
  // File order, so that callers see tensors as written. As in the format's specification, the
  // tensors must tile the data section: no overlaps (two entries sharing bytes would let a small
  // file claim many times its size) and no holes.
  std::stable_sort(out.entries.begin(), out.entries.end(), [](const SafeTensorsEntry& a, const SafeTensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const SafeTensorsEntry& e : out.entries) {
    HC_CHECK(e.begin == at, path, ": tensor '", e.name, "' starts at byte ", e.begin, " of the data section, but ",
             at == 0 ? std::string("the data starts at 0") : cat("the previous tensor ends at ", at),
             ": tensors overlap or leave a gap");
    at = e.end;
  }
  HC_CHECK(at == data_size, path, ": the tensors end at byte ", at, " of a data section of ", data_size,
           " bytes: trailing data, or the file is not safetensors");
  return out;
}

}  // namespace

SafeTensorsHeader read_safetensors_header(const std::string& path) {
  InputFile in(path, "safetensors file");
  return parse_header(in);
}

SafeTensors read_safetensors(const std::string& path) {
  InputFile in(path, "safetensors file");
  SafeTensorsHeader h = parse_header(in);
  SafeTensors st;
  st.path = path;
  st.metadata = std::move(h.metadata);
  std::vector<char> raw;
  for (const SafeTensorsEntry& e : h.entries) {
    const uint64_t bytes = e.end - e.begin;
    const uint64_t offset = h.data_start + e.begin;
    Tensor t;
    if (e.dtype == "F16" || e.dtype == "BF16") {
      raw.resize(bytes);
      HC_CHECK(in.read_at(raw.data(), bytes, offset), path, ": short read of tensor '", e.name, "'");
      t = Tensor::empty(e.shape, DType::F32);
      float* p = t.data<float>();
      for (int64_t i = 0; i < e.numel; ++i) {
        uint16_t v;
        std::memcpy(&v, raw.data() + 2 * i, 2);
        p[i] = e.dtype == "F16" ? half_to_float(v) : bf16_to_float(v);
      }
    } else {
      DType dt = e.dtype == "F32" ? DType::F32 : e.dtype == "F64" ? DType::F64 : DType::I32;
      t = Tensor::empty(e.shape, dt);
      if (bytes) HC_CHECK(in.read_at(t.raw_data(), bytes, offset), path, ": short read of tensor '", e.name, "'");
    }
    st.tensors.emplace_back(e.name, t);
  }
  return st;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00;  // NaN (quiet)
  // 65520 (0x477ff000) is halfway between 65504 and 2^16; ties go to the even neighbour, 2^16,
  // which half precision cannot hold: infinity from there up.
  if (a >= 0x477ff000u) return sign | 0x7c00;
  if (a < 0x38800000u) {
    // Below 2^-14, the smallest normal half: a subnormal, mantissa = round(|f| · 2^24). The
    // product is exact (a power of two) and below 1024; nearbyint rounds ties to even. 1024 is
    // the smallest normal's encoding, so rounding up into the normals comes out right.
    float v;
    std::memcpy(&v, &a, 4);
    return sign | static_cast<uint16_t>(std::nearbyint(v * 16777216.0f));
  }
  // Normal: rebias the exponent (127 -> 15), keep 10 of the 23 mantissa bits, round to nearest
  // even on the 13 dropped; a carry out of the mantissa correctly bumps the exponent.
  uint32_t h = ((a >> 23) - 127 + 15) << 10 | ((a >> 13) & 0x3ff);
  const uint32_t rest = a & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

static const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
  }
  return "?";
}

// The writer behind write_safetensors and write_safetensors_f16.
static void write_tensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                          const std::map<std::string, std::string>& metadata, bool floats_as_f16) {
  auto as_f16 = [&](const Tensor& t) { return floats_as_f16 && t.dtype() != DType::I32; };
  // nlohmann's ordered_json keeps the header in the order given, so the file reads back in order.
  nlohmann::ordered_json h;
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (auto& [name, t] : tensors) {
    HC_CHECK(name != "__metadata__", "a tensor cannot be named __metadata__");
    HC_CHECK(!h.contains(name), path, ": duplicate tensor name '", name, "'");
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * (as_f16(t) ? 2 : dtype_size(t.dtype()));
    h[name] = {{"dtype", as_f16(t) ? "F16" : st_dtype(t.dtype())}, {"shape", t.shape()},
               {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // keep the data 8-byte aligned

  AtomicFile out(path);
  unsigned char len_bytes[8];
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));
  out.write(len_bytes, 8);
  out.write(header);
  for (auto& [name, t] : tensors) {
    Tensor host = t.to(Device::CPU);
    if (as_f16(t)) {
      std::vector<double> values = host.to_vector();
      std::vector<uint16_t> half(values.size());
      for (size_t i = 0; i < values.size(); ++i) half[i] = float_to_half(static_cast<float>(values[i]));
      out.write(half.data(), half.size() * 2);
      continue;
    }
    out.write(host.raw_data(), static_cast<size_t>(host.numel()) * dtype_size(host.dtype()));
  }
  out.commit();
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_tensors(path, tensors, metadata, false);
}

void write_safetensors_f16(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata) {
  write_tensors(path, tensors, metadata, true);
}

}  // namespace hc
