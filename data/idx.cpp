// idx:IMAGES,LABELS[,CLASSNAMES]: IDX files as MNIST and Fashion-MNIST ship them, gzipped or not.
//   images: magic 0x00000803 (unsigned bytes, 3 dimensions), N, rows, cols (big-endian u32), pixels
//   labels: magic 0x00000801 (unsigned bytes, 1 dimension), N, labels
// Both are read into memory at open (MNIST's training images are 47 MB).
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "data/dataset_readers.h"

namespace hc::detail {

namespace {

// The file's bytes, decompressed when it starts with the gzip magic (1f 8b).
std::vector<uint8_t> read_maybe_gzipped(const std::string& path) {
  std::vector<uint8_t> raw = read_file_bytes(path);
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
  gzFile gz = gzopen(path.c_str(), "rb");
  HC_CHECK(gz != nullptr, path, ": cannot open gzip file");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    int n = gzread(gz, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int errnum = 0;
      std::string msg = gzerror(gz, &errnum);
      gzclose(gz);
      throw Error(cat(path, ": corrupt gzip data (", msg, ")"));
    }
    if (n == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  // A truncated stream reads as a short end of file; zlib reports it here rather than from gzread.
  int errnum = 0;
  const char* msg = gzerror(gz, &errnum);
  std::string why = msg ? msg : "";
  gzclose(gz);
  HC_CHECK(errnum == Z_OK || errnum == Z_STREAM_END, path, ": corrupt gzip data (", why, ")");
  return out;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
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
    std::vector<uint8_t> img = read_maybe_gzipped(images_file);
    // The magic first: the likeliest mistake is a wrong file, which should be reported as such.
    HC_CHECK(img.size() >= 4, images_file, ": too short for an IDX file (", img.size(), " bytes)");
    uint32_t magic = be32(img, 0);
    HC_CHECK(magic == 0x00000803, images_file, ": not an IDX image file (magic ", hex32(magic),
             ", expected 0x00000803)");
    HC_CHECK(img.size() >= 16, images_file, ": too short for an IDX image header (", img.size(),
             " bytes)");
    const uint64_t n = be32(img, 4);
    rows_ = static_cast<int>(be32(img, 8));
    cols_ = static_cast<int>(be32(img, 12));
    HC_CHECK(rows_ > 0 && cols_ > 0 && rows_ <= 65536 && cols_ <= 65536, images_file,
             ": implausible image size ", rows_, "x", cols_);
    const uint64_t want = 16 + n * static_cast<uint64_t>(rows_) * cols_;
    HC_CHECK(img.size() == want, images_file, ": ", img.size(), " bytes, but the header's ", n,
             " images of ", rows_, "x", cols_, " need ", want, " (truncated?)");
    pixels_.assign(img.begin() + 16, img.end());

    std::vector<uint8_t> lab = read_maybe_gzipped(labels_file);
    HC_CHECK(lab.size() >= 4, labels_file, ": too short for an IDX file (", lab.size(), " bytes)");
    uint32_t lmagic = be32(lab, 0);
    HC_CHECK(lmagic == 0x00000801, labels_file, ": not an IDX label file (magic ", hex32(lmagic),
             ", expected 0x00000801)");
    HC_CHECK(lab.size() >= 8, labels_file, ": too short for an IDX label header (", lab.size(),
             " bytes)");
    const uint64_t nl = be32(lab, 4);
    HC_CHECK(lab.size() == 8 + nl, labels_file, ": ", lab.size(), " bytes, but the header's ", nl,
             " labels need ", 8 + nl, " (truncated?)");
    HC_CHECK(nl == n, labels_file, ": ", nl, " labels, but ", images_file, " has ", n, " images");
    HC_CHECK(n > 0, images_file, ": no images");
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
