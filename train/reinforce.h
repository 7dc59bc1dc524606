// `hyperclip reinforce` (SPEC 2.2): builds a reinforced dataset (data/reinforced.h) from a base
// dataset and one or more teacher checkpoints. For every sample: R augmentation draws
// (deterministic by seed and sample), each teacher's L2-normalised image embedding of every view,
// and each teacher's text embedding of every caption; an ensemble's embeddings sit side by side.
// Inference only. Resumable: the shards already on disk are checked and kept.
#pragma once
#include <string>
#include <vector>

#include "data/loader.h"
#include "data/reinforced.h"
#include "train/checkpoint.h"

namespace hc {

struct ReinforceOptions {
  std::vector<std::string> teachers;  // checkpoints, in column order
  std::string data, out_dir;
  std::string classes_file, templates_file;
  int64_t synthetic_size = 0;          // synthetic base data: training scenes (as train --synthetic-size)
  int64_t augmentations = 0;           // R
  Augment augment = Augment::CropFlip;
  double crop_scale_min = 0.5;         // as train's loader
  uint64_t seed = 0;                   // the augmentation draws (and a synthetic base dataset's seed)
  int64_t shard_size = 1024;           // samples (and captions) per shard file
  int64_t batch = 64;                  // samples per teacher pass (each with its R views)
  int workers = 2;                     // decoding threads
  int threads = 0;                     // OpenMP threads of the teachers' forward passes (0: default)
  std::string device = "cpu";
  // What a hyper-mode teacher's hypernetwork sees: "captions" (as many training captions as the
  // teacher's training sets held, drawn by the seed), "captions:K", or "none" (the tower without
  // generated offsets). Token-mode teachers use their learned tokens; baselines have no set.
  std::string teacher_set = "captions";
  int64_t max_shards = 0;              // stop after writing this many image shards (0: finish)
};

// Runs the whole job; returns the process exit status. Errors throw hc::Error.
int run_reinforce(const ReinforceOptions& opt);

// The R augmentation draws of sample `sample` (a width×height image): from its own stream, seeded
// by (seed, sample), so that any shard can be rebuilt alone.
std::vector<AugmentParams> reinforce_augmentations(int width, int height, Augment kind, double crop_scale_min,
                                                   int64_t count, uint64_t seed, size_t sample);

// One teacher, ready to embed: the checkpoint's model in evaluation mode with its hypernetwork's
// output fixed for the whole job (teacher_set).
class ReinforceTeacher {
 public:
  // `captions`: the caption table the "captions" set is drawn from.
  ReinforceTeacher(const std::string& checkpoint, const std::string& teacher_set,
                   const std::vector<std::string>& captions, uint64_t seed, Device device);
  int64_t embed() const { return loaded_.info.config.embed; }
  int64_t image_size() const { return loaded_.info.config.image.image_size; }
  Tensor embed_images(const Tensor& images) const;               // [n, 3, S, S] -> [n, E] on the CPU
  Tensor embed_texts(const std::vector<std::string>& texts) const;  // -> [n, E] on the CPU
  const ReinforcedTeacher& record() const { return record_; }

 private:
  LoadedModel loaded_;
  Device device_;
  Tensor hyper_;  // [1, P] or undefined
  ReinforcedTeacher record_;
};

}  // namespace hc
