// Reinforced datasets (SPEC 2.2; the format in full: docs/reinforced.md). Per sample of a base
// dataset: R stored augmentations (crop box and flip), the teachers' image embeddings of every
// augmented view, and the teachers' text embeddings of every caption of the sample, in fp16:
//
//   DIR/index.json                format and version, the base dataset's identity, the
//                                 augmentation, each teacher's configuration, the shard lists
//   DIR/samples.json              per sample: base row, source, caption ids; the caption table
//   DIR/images-NNNNN.safetensors  samples [first, first + count):
//                                   augment.box  I32 [count, R, 4]  left, top, width, height
//                                   augment.flip I32 [count, R]     0 or 1
//                                   image        F16 [count, R, D]
//   DIR/texts-NNNNN.safetensors   captions [first, first + count): text F16 [count, D]
//
// D is the teachers' widths side by side (an ensemble concatenates); each teacher's block of a
// row is L2-normalised. Every size read from these files is checked before it is used, and a
// damaged file is an error naming it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace hc {

// The samples of a base dataset as reinforcement sees them. A caption dataset's rows are grouped
// by image (source): a TSV may list one image on several rows with a caption each, and the image
// is reinforced once with all of them, in row order. A labelled dataset's sample has one caption
// per template (its class name filled in), in template order. Each distinct caption is stored
// (and embedded by the teachers) once.
struct ReinforcedSamples {
  std::vector<uint64_t> base_row;        // [N] the base dataset's row of the sample's image
  std::vector<std::string> source;       // [N] its source, as the dataset reports it
  std::vector<uint32_t> caption_offset;  // [N + 1]
  std::vector<uint32_t> caption_id;      // sample i: caption_id[caption_offset[i] .. caption_offset[i+1])
  std::vector<std::string> captions;     // [U] the caption table

  size_t size() const { return base_row.size(); }
  uint32_t caption_count(size_t i) const { return caption_offset[i + 1] - caption_offset[i]; }
  uint32_t caption(size_t i, uint32_t k) const { return caption_id[caption_offset[i] + k]; }
};

// The samples of `base`; `templates` caption a labelled dataset. Reads every row's source, which
// for datasets that cannot tell it without decoding (wds, synthetic) decodes every row once.
ReinforcedSamples reinforced_samples(const Dataset& base, const std::vector<std::string>& templates);

// The identity of a base dataset that a reinforced dataset records and training checks, without
// decoding any image: the row count and every row's caption (caption datasets), or the class names
// and templates (labelled ones). "fnv1a64:<16 hex digits>".
std::string base_identity(const Dataset& base, const std::vector<std::string>& templates);

// One teacher as index.json records it.
struct ReinforcedTeacher {
  std::string checkpoint;   // the path given to `hyperclip reinforce`
  std::string file_hash;    // fnv1a64 of the checkpoint file
  std::string config_json;  // its model configuration (models/config_io.h)
  int64_t step = 0;         // its training step
  int64_t embed = 0;        // its embedding width: the width of its block in D
  int64_t image_size = 0;   // the size its views are resized to
  std::string mode;         // baseline | hyper | token
  std::string hyper_set;    // what its hypernetwork saw: "captions:K" (K of the training captions,
                            // drawn by the seed), "tokens" (token mode), "none"
};

// A shard file and the items (samples or captions) it holds: [first, first + count).
struct ReinforcedShard {
  std::string file;  // name inside DIR
  int64_t first = 0, count = 0;
};

struct ReinforcedIndex {
  static constexpr const char* kFormat = "hyperclip-reinforced";
  static constexpr int kVersion = 1;
  // The base dataset.
  std::string base_data;      // its DATA spec, for the record
  std::string base_describe;  // its describe(), for messages
  std::string identity;       // base_identity()
  int64_t base_rows = 0;
  bool labelled = false;
  std::vector<std::string> templates;  // labelled base: the templates its captions come from
  int64_t samples = 0;                 // N
  int64_t captions = 0;                // U
  // The augmentation the views are drawn from.
  std::string augment = "crop-flip";   // none | crop | crop-flip
  double crop_scale_min = 0.5;
  int64_t augmentations = 0;           // R
  uint64_t seed = 0;
  // The teachers, in column order.
  std::vector<ReinforcedTeacher> teachers;
  int64_t dim = 0;                     // D, the sum of the teachers' widths
  // Storage.
  int64_t shard_size = 0;              // samples (and captions) per shard
  std::vector<ReinforcedShard> image_shards, text_shards;
  bool complete = false;               // every shard written

  std::vector<int64_t> teacher_dims() const;
};

// Limits on what index.json may declare (checked before anything is allocated).
constexpr int64_t kMaxReinforcedSamples = int64_t{1} << 31;
constexpr int64_t kMaxAugmentations = 1024;
constexpr int64_t kMaxTeacherDim = 1 << 16;

// The shards of n items, `shard_size` per shard: "<prefix>-00000.safetensors", ...
std::vector<ReinforcedShard> plan_shards(const std::string& prefix, int64_t n, int64_t shard_size);

// DIR/index.json, written atomically / read and checked (format, version, bounds, consistency).
void write_reinforced_index(const std::string& dir, const ReinforcedIndex& index);
ReinforcedIndex read_reinforced_index(const std::string& dir);
// DIR/samples.json.
void write_reinforced_samples(const std::string& dir, const ReinforcedSamples& samples);
ReinforcedSamples read_reinforced_samples(const std::string& dir, const ReinforcedIndex& index);

// The contents of one image shard.
struct ReinforcedImageShard {
  std::vector<AugmentParams> augment;  // [count * R], sample-major
  std::vector<float> image;            // [count, R, D]
};
void write_image_shard(const std::string& dir, const ReinforcedIndex& index, const ReinforcedShard& shard,
                       const ReinforcedImageShard& data);
// Checks names, shapes, metadata, boxes, flips and that each teacher's block has unit norm
// (within fp16 rounding): a truncated or damaged shard is an error naming the file.
ReinforcedImageShard read_image_shard(const std::string& dir, const ReinforcedIndex& index,
                                      const ReinforcedShard& shard);
void write_text_shard(const std::string& dir, const ReinforcedIndex& index, const ReinforcedShard& shard,
                      const std::vector<float>& text);  // [count, D]
std::vector<float> read_text_shard(const std::string& dir, const ReinforcedIndex& index,
                                   const ReinforcedShard& shard);

// A whole reinforced dataset in memory (float32), for training.
class ReinforcedData {
 public:
  // Reads DIR and checks it against the training data: a dataset of another identity (other
  // rows, captions, class names or templates) is refused, naming both.
  ReinforcedData(const std::string& dir, const Dataset& base, const std::vector<std::string>& templates);

  const std::string& dir() const { return dir_; }
  const ReinforcedIndex& index() const { return index_; }
  const ReinforcedSamples& samples() const { return samples_; }
  int64_t augmentations() const { return index_.augmentations; }
  int64_t dim() const { return index_.dim; }
  const AugmentParams& augment(size_t sample, int64_t r) const { return augment_[sample * index_.augmentations + r]; }
  const float* image_embedding(size_t sample, int64_t r) const {  // [D]
    return &image_[(sample * index_.augmentations + r) * index_.dim];
  }
  const float* text_embedding(uint32_t caption) const { return &text_[caption * index_.dim]; }  // [D]

 private:
  std::string dir_;
  ReinforcedIndex index_;
  ReinforcedSamples samples_;
  std::vector<AugmentParams> augment_;
  std::vector<float> image_, text_;
};

// What training takes from reinforced sample `sample` in `epoch`, deterministic by (seed, epoch,
// sample): one of its R stored views, its real caption (drawn as the plain loader draws a labelled
// sample's template, so that a reinforced run at λ = 0 trains exactly as a plain one) and an extra
// caption (another of its captions when it has several, else the same). Captions as table ids.
struct ReinforcedDraw {
  int64_t view = 0;
  uint32_t real = 0, extra = 0;
};
ReinforcedDraw reinforced_draw(const ReinforcedSamples& samples, int64_t augmentations, uint64_t seed, int64_t epoch,
                               size_t sample);

// The reinforced samples as a dataset (sample i is the base row of its image), for the loader.
class ReinforcedImages : public Dataset {
 public:
  ReinforcedImages(const Dataset& base, const ReinforcedSamples& samples) : base_(base), samples_(samples) {}
  size_t size() const override { return samples_.size(); }
  Sample get(size_t i) const override { return base_.get(samples_.base_row.at(i)); }
  const std::vector<std::string>& class_names() const override { return base_.class_names(); }
  std::string describe() const override { return base_.describe(); }
  std::vector<std::string> templates() const override { return base_.templates(); }

 private:
  const Dataset& base_;
  const ReinforcedSamples& samples_;
};

}  // namespace hc
