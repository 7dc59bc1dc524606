// Datasets: every source of images and captions or labels behind one interface, opened from a
// DATA spec (SPEC §5):
//   tsv:FILE          lines "relative/path<TAB>caption", paths relative to the TSV's folder
//   folder:DIR        one sub-folder per class; class names from folder names ('_' read as a
//                     space) or from a class-names file
//   wds:PATTERN       WebDataset tar shards: members key.jpg|png with key.txt; brace patterns
//                     such as shard-{000..009}.tar
//   cifar10:DIR       CIFAR-10 binary files (data_batch_1..5.bin, test_batch.bin)
//   cifar100:DIR      CIFAR-100 binary files (train.bin, test.bin), fine labels
//   idx:IMAGES,LABELS[,CLASSNAMES]  IDX files (MNIST style), gzipped or not
//   synthetic[:TASK]  the built-in synthetic scenes (data/synthetic.h)
// Errors name the file and the problem.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"

namespace hc {

struct Sample {
  Image image;
  std::string caption;  // empty for labelled datasets (captions come from class names)
  int label = -1;       // class index for labelled datasets, -1 otherwise
  std::string source;   // file (and member) it came from, for messages
};

struct DatasetOptions {
  std::string split = "train";   // cifar and synthetic: "train" or "test"
  std::string class_names_file;  // folder, idx: one class name per line (overrides folder names)
  uint64_t seed = 0;             // synthetic: the dataset's seed
  size_t synthetic_train_size = 0;  // synthetic: scenes in the training split (0: the default)
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  // Decodes sample i. Thread-safe: loader threads call it concurrently. A missing or corrupt image
  // throws hc::Error naming the file.
  virtual Sample get(size_t i) const = 0;
  // Labelled datasets list their classes; caption datasets return an empty list.
  virtual const std::vector<std::string>& class_names() const = 0;
  bool labelled() const { return !class_names().empty(); }
  virtual std::string describe() const = 0;  // "tsv:/data/captions.tsv (1234 images)"
  // Prompt templates ("a photo of a {}.") suited to this dataset's zero-shot task; empty means the
  // caller's default (CIFAR's 18).
  virtual std::vector<std::string> templates() const { return {}; }
  // Sample i's caption without decoding its image where the dataset can (tokenizer training
  // reads many captions).
  virtual std::string caption(size_t i) const { return get(i).caption; }
  // Where sample i comes from (its image file for tsv and folder), without decoding where possible.
  virtual std::string source(size_t i) const { return get(i).source; }
};

std::unique_ptr<Dataset> open_dataset(const std::string& spec, const DatasetOptions& opt = {});

// Expands "a-{000..003}.tar" to a-000.tar ... a-003.tar (zero padding kept); also {a,b,c} lists.
std::vector<std::string> expand_braces(const std::string& pattern);

}  // namespace hc
