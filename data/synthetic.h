// The built-in synthetic image-caption dataset: scenes of objects with a shape, colour, size,
// texture, position and count, drawn on the fly and deterministic by (seed, split, index), with
// captions that describe them in varied words. Zero-shot tasks classify one attribute of test
// scenes; some shape-colour combinations never occur in training (the "heldout" tasks test them).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace hc {

struct SyntheticOptions {
  int image_size = 64;
  uint64_t seed = 0;
  size_t train_size = 100000;  // scenes in the training split
  size_t test_size = 2000;     // scenes in each test task
};

// The attribute tasks: "shape", "color", "size", "texture", "position", "count", and
// "heldout-shape", "heldout-color" (test scenes whose shape-colour pair never occurs in training).
std::vector<std::string> synthetic_tasks();

// task empty: the caption dataset (split "train" or "test"); otherwise a labelled test set for the
// task, whose class_names() are the attribute's words and templates() suit the attribute.
std::unique_ptr<Dataset> make_synthetic_dataset(const std::string& task, const std::string& split,
                                                const SyntheticOptions& opt);

}  // namespace hc
