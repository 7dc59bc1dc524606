// idx:IMAGES,LABELS[,CLASSNAMES]: IDX files as MNIST and Fashion-MNIST ship them, gzipped or not.
//   images: magic 0x00000803 (unsigned bytes, 3 dimensions), N, rows, cols (big-endian u32), pixels
//   labels: magic 0x00000801 (unsigned bytes, 1 dimension), N, labels
// Both are read into memory at open (MNIST's training images are 47 MB).
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "data/dataset_readers.h"

namespace hc::detail {

namespace {

// An IDX file's bytes, gunzipped when they start with the gzip magic (1f 8b). The header (first
// `header` bytes) is read first; `expected(header bytes)` then gives the whole size the header
// claims, checked for overflow, and no more than that is ever decompressed or allocated: a small
// gzip file cannot expand into memory beyond what its own header promises, and that promise must
// be one deflate can keep (at most 1032 bytes out per byte in).
class IdxBytes {
 public:
  explicit IdxBytes(const std::string& path) : path_(path), raw_(read_file_bytes(path, "IDX file")) {
    gz_ = raw_.size() >= 2 && raw_[0] == 0x1f && raw_[1] == 0x8b;
    if (gz_) {
      std::memset(&z_, 0, sizeof z_);
      HC_CHECK(inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK, path, ": cannot start gzip decompression");
      z_.next_in = raw_.data();
      z_.avail_in = static_cast<uInt>(std::min<size_t>(raw_.size(), UINT32_MAX));
    }
  }
  ~IdxBytes() {
    if (gz_) inflateEnd(&z_);
  }
  IdxBytes(const IdxBytes&) = delete;
  IdxBytes& operator=(const IdxBytes&) = delete;

  // The largest size the file could hold once decompressed.
  uint64_t max_size() const { return gz_ ? static_cast<uint64_t>(raw_.size()) * 1032 + 1024 : raw_.size(); }

  // Up to n more bytes (fewer only at the end of the data).
  size_t read(uint8_t* out, size_t n) {
    if (!gz_) {
      size_t k = std::min(n, raw_.size() - at_);
      if (k) std::memcpy(out, raw_.data() + at_, k);  // an empty file has no data pointer
      at_ += k;
      return k;
    }
    size_t got = 0;
    while (got < n && !ended_) {
      z_.next_out = out + got;
      z_.avail_out = static_cast<uInt>(std::min<size_t>(n - got, UINT32_MAX));
      int r = inflate(&z_, Z_NO_FLUSH);
      got = static_cast<size_t>(z_.next_out - out);
      if (r == Z_STREAM_END) {
        // gzip allows several members one after the other.
        if (z_.avail_in == 0) ended_ = true;
        else HC_CHECK(inflateReset(&z_) == Z_OK, path_, ": corrupt gzip data");
      } else if (r == Z_BUF_ERROR && z_.avail_in == 0) {
        throw Error(cat(path_, ": corrupt gzip data (truncated)"));
      } else if (r != Z_OK) {
        throw Error(cat(path_, ": corrupt gzip data (", z_.msg ? z_.msg : "inflate failed", ")"));
      }
    }
    return got;
  }

 private:
  std::string path_;
  std::vector<uint8_t> raw_;
  bool gz_ = false, ended_ = false;
  size_t at_ = 0;
  z_stream z_;
};

// The whole content of an IDX file whose first `header` bytes give its size through `expected`.
template <class Expected>
std::vector<uint8_t> read_idx(const std::string& path, size_t header, Expected expected) {
  IdxBytes in(path);
  std::vector<uint8_t> bytes(header);
  bytes.resize(in.read(bytes.data(), header));
  const uint64_t want = expected(bytes);  // checks the header; throws naming the file
  HC_CHECK(want <= in.max_size(), path, ": the header claims ", want, " bytes of data, more than the file (",
           in.max_size(), " bytes at most once decompressed) can hold: truncated or corrupt");
  bytes.resize(static_cast<size_t>(want));
  size_t got = header + in.read(bytes.data() + header, static_cast<size_t>(want) - header);
  uint8_t extra;
  HC_CHECK(got == want && in.read(&extra, 1) == 0, path, ": ", got == want ? "more" : cat(got).c_str(),
           " bytes of data, but the header's counts need ", want, got < want ? " (truncated?)" : "");
  return bytes;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {  // b has at least at + 4 bytes
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) |
         uint32_t(b[at + 3]);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

class IdxDataset : public Dataset {
 public:
  IdxDataset(const std::string& images_file, const std::string& labels_file,
             const std::string& names_file)
      : images_file_(images_file), labels_file_(labels_file) {
    std::vector<uint8_t> img = read_idx(images_file, 16, [&](const std::vector<uint8_t>& h) -> uint64_t {
      // The magic first: the likeliest mistake is a wrong file, which should be reported as such.
      HC_CHECK(h.size() >= 4, images_file, ": too short for an IDX file (", h.size(), " bytes)");
      uint32_t magic = be32(h, 0);
      HC_CHECK(magic == 0x00000803, images_file, ": not an IDX image file (magic ", hex32(magic),
               ", expected 0x00000803)");
      HC_CHECK(h.size() >= 16, images_file, ": too short for an IDX image header (", h.size(), " bytes)");
      const uint64_t n = be32(h, 4), rows = be32(h, 8), cols = be32(h, 12);
      HC_CHECK(rows > 0 && cols > 0 && rows <= 65536 && cols <= 65536, images_file, ": implausible image size ", rows,
               "x", cols);
      HC_CHECK(n > 0, images_file, ": no images");
      uint64_t want = 0;
      HC_CHECK(!__builtin_mul_overflow(n, rows * cols, &want) && !__builtin_add_overflow(want, 16, &want),
               images_file, ": ", n, " images of ", rows, "x", cols, " do not fit in 64 bits");
      rows_ = static_cast<int>(rows);
      cols_ = static_cast<int>(cols);
      return want;
    });
    const uint64_t n = be32(img, 4);
    pixels_.assign(img.begin() + 16, img.end());

    std::vector<uint8_t> lab = read_idx(labels_file, 8, [&](const std::vector<uint8_t>& h) -> uint64_t {
      HC_CHECK(h.size() >= 4, labels_file, ": too short for an IDX file (", h.size(), " bytes)");
      uint32_t lmagic = be32(h, 0);
      HC_CHECK(lmagic == 0x00000801, labels_file, ": not an IDX label file (magic ", hex32(lmagic),
               ", expected 0x00000801)");
      HC_CHECK(h.size() >= 8, labels_file, ": too short for an IDX label header (", h.size(), " bytes)");
      const uint64_t nl = be32(h, 4);
      HC_CHECK(nl == n, labels_file, ": ", nl, " labels, but ", images_file, " has ", n, " images");
      return 8 + nl;
    });
    int max_label = 0;
    for (size_t i = 8; i < lab.size(); ++i) {
      labels_.push_back(lab[i]);
      max_label = std::max(max_label, static_cast<int>(lab[i]));
    }

    if (!names_file.empty()) {
      names_ = read_class_names(names_file);
      HC_CHECK(max_label < static_cast<int>(names_.size()), names_file, ": ", names_.size(),
               " class names, but ", labels_file, " has label ", max_label);
    } else {
      // Without names, classes are the label values themselves ("0".."9" for MNIST).
      for (int c = 0; c <= max_label; ++c) names_.push_back(std::to_string(c));
    }
  }
  size_t size() const override { return labels_.size(); }
  Sample get(size_t i) const override {
    HC_CHECK(i < labels_.size(), describe(), ": sample ", i, " out of range");
    Sample s;
    s.image.width = cols_;
    s.image.height = rows_;
    const size_t plane = static_cast<size_t>(rows_) * cols_;
    const uint8_t* src = &pixels_[i * plane];
    s.image.rgb.resize(plane * 3);
    // Grey replicated to RGB: the models take 3 channels.
    for (size_t p = 0; p < plane; ++p)
      s.image.rgb[p * 3] = s.image.rgb[p * 3 + 1] = s.image.rgb[p * 3 + 2] = src[p];
    s.label = labels_[i];
    s.source = cat(images_file_, " image ", i);
    return s;
  }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string describe() const override {
    return cat("idx:", images_file_, ",", labels_file_, " (", labels_.size(), " images, ",
               names_.size(), " classes)");
  }

 private:
  std::string images_file_, labels_file_;
  int rows_ = 0, cols_ = 0;
  std::vector<uint8_t> pixels_;
  std::vector<int> labels_;
  std::vector<std::string> names_;
};

}  // namespace

std::unique_ptr<Dataset> open_idx_dataset(const std::string& arg, const DatasetOptions& opt) {
  std::vector<std::string> parts;
  std::stringstream ss(arg);
  std::string part;
  while (std::getline(ss, part, ',')) parts.push_back(part);
  HC_CHECK((parts.size() == 2 || parts.size() == 3) && !parts[0].empty() && !parts[1].empty(),
           "idx:", arg, ": expected idx:IMAGES,LABELS[,CLASSNAMES]");
  // A class-names file in the spec wins over the option.
  std::string names = parts.size() == 3 ? parts[2] : opt.class_names_file;
  return std::make_unique<IdxDataset>(parts[0], parts[1], names);
}

}  // namespace hc::detail
