// cifar10:DIR and cifar100:DIR: the "binary version" files of the CIFAR datasets, read into memory
// at open (CIFAR-10's training set is 150 MB, small enough, and get() then costs one copy).
//   CIFAR-10:  data_batch_1..5.bin (train), test_batch.bin (test); records of 1 label byte + 3072
//              bytes of 32x32 pixels, planar (all red, then green, then blue).
//   CIFAR-100: train.bin, test.bin; records of a coarse and a fine label byte + 3072 bytes.
#include <filesystem>

#include "core/error.h"
#include "data/dataset_readers.h"

namespace fs = std::filesystem;

namespace hc::detail {

namespace {

constexpr int kSide = 32;
constexpr size_t kPixels = kSide * kSide * 3;

const std::vector<std::string>& cifar10_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

// The fine labels in the dataset's own (alphabetical) order, '_' read as a space.
const std::vector<std::string>& cifar100_names() {
  static const std::vector<std::string> names = {
      "apple",        "aquarium fish", "baby",        "bear",       "beaver",       "bed",
      "bee",          "beetle",        "bicycle",     "bottle",     "bowl",         "boy",
      "bridge",       "bus",           "butterfly",   "camel",      "can",          "castle",
      "caterpillar",  "cattle",        "chair",       "chimpanzee", "clock",        "cloud",
      "cockroach",    "couch",         "crab",        "crocodile",  "cup",          "dinosaur",
      "dolphin",      "elephant",      "flatfish",    "forest",     "fox",          "girl",
      "hamster",      "house",         "kangaroo",    "keyboard",   "lamp",         "lawn mower",
      "leopard",      "lion",          "lizard",      "lobster",    "man",          "maple tree",
      "motorcycle",   "mountain",      "mouse",       "mushroom",   "oak tree",     "orange",
      "orchid",       "otter",         "palm tree",   "pear",       "pickup truck", "pine tree",
      "plain",        "plate",         "poppy",       "porcupine",  "possum",       "rabbit",
      "raccoon",      "ray",           "road",        "rocket",     "rose",         "sea",
      "seal",         "shark",         "shrew",       "skunk",      "skyscraper",   "snail",
      "snake",        "spider",        "squirrel",    "streetcar",  "sunflower",    "sweet pepper",
      "table",        "tank",          "telephone",   "television", "tiger",        "tractor",
      "train",        "trout",         "tulip",       "turtle",     "wardrobe",     "whale",
      "willow tree",  "wolf",          "woman",       "worm"};
  return names;
}

class CifarDataset : public Dataset {
 public:
  CifarDataset(const std::string& dir, bool cifar100, const std::string& split)
      : dir_(dir), cifar100_(cifar100), split_(split) {
    HC_CHECK(split == "train" || split == "test", (cifar100 ? "cifar100:" : "cifar10:"), dir,
             ": split must be \"train\" or \"test\", not \"", split, "\"");
    names_ = cifar100 ? cifar100_names() : cifar10_names();
    HC_CHECK(names_.size() == (cifar100 ? 100u : 10u), "internal: CIFAR class-name table size");

    // Accept both the folder holding the .bin files and the folder the archive unpacks into.
    fs::path root = dir;
    const char* sub = cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin";
    const char* probe = cifar100 ? "test.bin" : "test_batch.bin";
    std::error_code ec;
    if (!fs::exists(root / probe, ec) && fs::exists(root / sub / probe, ec)) root /= sub;

    std::vector<std::string> files;
    if (cifar100) {
      files.push_back((root / (split + ".bin")).string());
    } else if (split == "train") {
      for (int b = 1; b <= 5; ++b) files.push_back((root / cat("data_batch_", b, ".bin")).string());
    } else {
      files.push_back((root / "test_batch.bin").string());
    }

    const size_t label_bytes = cifar100 ? 2 : 1;
    const size_t record = label_bytes + kPixels;
    for (const std::string& f : files) {
      std::vector<uint8_t> bytes = read_file_bytes(f);
      HC_CHECK(!bytes.empty() && bytes.size() % record == 0, f, ": size ", bytes.size(),
               " is not a multiple of the ", record, "-byte ", (cifar100 ? "CIFAR-100" : "CIFAR-10"),
               " record (truncated or not a CIFAR binary file)");
      files_.push_back(f);
      const size_t n = bytes.size() / record;
      for (size_t r = 0; r < n; ++r) {
        const uint8_t* rec = &bytes[r * record];
        int label = cifar100 ? rec[1] : rec[0];  // CIFAR-100: [coarse, fine]; we use fine
        HC_CHECK(label < static_cast<int>(names_.size()), f, ": record ", r, " has label ", label,
                 ", but there are only ", names_.size(), " classes");
        labels_.push_back(label);
        pixels_.insert(pixels_.end(), rec + label_bytes, rec + record);
        file_of_.push_back(static_cast<uint8_t>(files_.size() - 1));
        records_.push_back(r);
      }
    }
  }
  size_t size() const override { return labels_.size(); }
  Sample get(size_t i) const override {
    HC_CHECK(i < labels_.size(), describe(), ": sample ", i, " out of range");
    Sample s;
    s.image.width = s.image.height = kSide;
    s.image.rgb.resize(kPixels);
    // Planar CHW to interleaved HWC.
    const uint8_t* src = &pixels_[i * kPixels];
    const size_t plane = kSide * kSide;
    for (size_t p = 0; p < plane; ++p)
      for (size_t c = 0; c < 3; ++c) s.image.rgb[p * 3 + c] = src[c * plane + p];
    s.label = labels_[i];
    s.source = cat(files_[file_of_[i]], " record ", records_[i]);
    return s;
  }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string describe() const override {
    return cat(cifar100_ ? "cifar100:" : "cifar10:", dir_, " (", split_, ", ", labels_.size(),
               " images, ", names_.size(), " classes)");
  }

 private:
  std::string dir_;
  bool cifar100_;
  std::string split_;
  std::vector<std::string> names_;
  std::vector<uint8_t> pixels_;  // size() * 3072, planar per image
  std::vector<int> labels_;
  std::vector<std::string> files_;  // the .bin files read
  std::vector<uint8_t> file_of_;     // per sample: index into files_
  std::vector<size_t> records_;
};

}  // namespace

std::unique_ptr<Dataset> open_cifar_dataset(const std::string& dir, bool cifar100,
                                             const DatasetOptions& opt) {
  return std::make_unique<CifarDataset>(dir, cifar100, opt.split);
}

}  // namespace hc::detail
