// The batch loader: background threads decode and transform samples while the trainer computes,
// in an order fixed by (seed, epoch) alone, so that a run and its resumption see the same batches
// whatever the thread timing.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/set_sampler.h"

namespace hc {

enum class Augment { None, Crop, CropFlip };
Augment parse_augment(const std::string& s);
// One draw of augmentation `kind` for a width×height image, from g in the order the loader draws
// (crop box, then the flip's coin for CropFlip). None: the centre square, unflipped (for a square
// image the view resize_center_crop gives).
AugmentParams draw_augment(int width, int height, Augment kind, double crop_scale_min, Generator& g);

struct LoaderOptions {
  int64_t batch = 64;
  int image_size = 64;
  uint64_t seed = 0;
  bool shuffle = true;
  Augment augment = Augment::None;  // random resized crop (scale [0.5, 1]) and flips when asked
  double crop_scale_min = 0.5;
  int workers = 2;                  // decoding threads
  int prefetch = 4;                 // batches decoded ahead
  bool skip_corrupt = true;         // false: a corrupt image fails the run
  bool drop_last = true;            // training drops a final partial batch
  // Labelled datasets used for training get captions from their class names through these.
  std::vector<std::string> caption_templates;
  // Sets of set_size consecutive samples (train --set-size): a corrupt sample drops its whole set,
  // so that the sets after it keep their members. 0: no sets.
  int64_t set_size = 0;
  // Group set sampling (train --set-sampling group): the epoch order comes from this sampler
  // (data/set_sampler.h) instead of a random permutation. Null: random.
  std::shared_ptr<const GroupSetSampler> group_sets;
  // Reinforced training (data/reinforced.h): the stored augmentation of sample `index` to re-apply
  // in `epoch` instead of drawing one. Empty: draw as `augment` says.
  std::function<AugmentParams(int64_t epoch, size_t index)> replay;
  // Data-parallel training (SPEC §6): `batch` is the global batch; this process takes slice `rank`
  // of the `ranks` equal consecutive slices of each one. The order and every random draw depend on
  // (seed, epoch, sample) alone, so the ranks together see what one process with the batch sees.
  int rank = 0, ranks = 1;
};

struct Batch {
  Tensor images;                      // float32 [n, 3, S, S], normalised
  std::vector<std::string> captions;  // training captions (filled for every dataset)
  std::vector<int> labels;            // -1 for caption datasets
  std::vector<std::string> sources;   // where each sample came from
  std::vector<size_t> indices;        // each sample's index in the dataset
  int64_t skipped = 0;                // corrupt samples dropped from this batch
  std::vector<std::string> skipped_sources;
};

class Loader {
 public:
  Loader(const Dataset& data, const LoaderOptions& opt);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t batches_per_epoch() const;
  // Starts (or restarts) at batch `first` of `epoch`. next() then returns batches in order until
  // the epoch ends.
  void start(int64_t epoch, int64_t first = 0);
  bool next(Batch& out);  // false at the end of the epoch

  // The sample order of an epoch: a permutation seeded by (seed, epoch), or 0..n-1, or the group
  // set sampler's order.
  std::vector<size_t> epoch_order(int64_t epoch) const;

 private:
  Batch make_batch(int64_t epoch, int64_t b) const;
  void drop_broken_sets(Batch& out, std::vector<Image>& images, const std::vector<int64_t>& kept,
                        const std::vector<char>& broken_sets) const;
  // Positions [lo, hi) of the epoch order that batch b holds in this process (its rank's slice).
  void batch_range(int64_t b, int64_t& lo, int64_t& hi) const;
  void stop_workers();
  void worker();

  const Dataset& data_;
  LoaderOptions opt_;
  std::vector<size_t> order_;
  int64_t epoch_ = 0, next_to_make_ = 0, next_to_return_ = 0, end_ = 0;
  std::map<int64_t, Batch> ready_;
  std::string error_;  // a worker's failure, rethrown by next()
  bool stopping_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

// A stable 64-bit hash combining values, for per-sample random streams.
uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0);

}  // namespace hc
