// The whole model (SPEC 1): text tower, image tower and, in hyper and token modes, the
// hypernetwork, trained with the SigLIP loss. Names and forward pass as docs/model.md.
#pragma once
#include <memory>

#include "core/random.h"
#include "models/config.h"
#include "models/hypernet.h"
#include "models/image_tower.h"
#include "models/text.h"

namespace hc {

// How one rank of a data-parallel job computes its part of the step (SPEC §6); see
// train/data_parallel.h, which fills it.
struct ParallelForward {
  Communicator* comm = nullptr;
  SiglipDist siglip = SiglipDist::Gather;  // the distributed loss's exchange
  bool global_set = false;  // --hyper-set global: one set of all ranks' captions (all-gathered)
  int64_t set_size = 0;     // --hyper-set local: sets of this many of the rank's captions (0: all of them)
};

struct ModelOutput {
  Tensor image_emb;  // [n, E], L2-normalised
  Tensor text_emb;   // [n, E], L2-normalised
  Tensor hyper;      // [S, P] (hyper and token modes)
  Tensor loss;       // 0-dim
  // set_loss "split": its two terms, loss = loss_within + loss_batch (0-dim; undefined otherwise).
  Tensor loss_within;  // SigLIP within each set, its own set's parameters, averaged over the sets
  Tensor loss_batch;   // SigLIP over the batch, the whole batch's parameters
};

class HyperClip : public Module {
 public:
  explicit HyperClip(const ModelConfig& cfg);

  // Initialises every parameter from a generator seeded with `seed` (docs/model.md).
  void init_parameters(uint64_t seed);

  Tensor encode_text(const Tensor& tokens, const Tensor& eot) const;  // [n, E], normalised
  // The hypernetwork's output for text embeddings e [n, E]: [S, P] with S = n / set_size (one set
  // when set_size is 0), or for the learned tokens in token mode ([1, P]). Undefined in baseline.
  Tensor generate(const Tensor& text_emb, int64_t set_size) const;
  // Image embeddings [n, E], normalised; hyper [S, P] or undefined. Image i uses set i / (n / S)
  // (consecutive sets), or set set_index[i] when the int32 [n] set_index is given.
  Tensor encode_image(const Tensor& images, const Tensor& hyper, const Tensor& set_index = Tensor()) const;
  // One training (or evaluation) pass on n images and their n captions. With `parallel`, the pass
  // of one rank of a data-parallel job: loss is this rank's share of the global batch's loss
  // (siglip_loss_distributed), and the hypernetwork's set follows parallel->global_set.
  ModelOutput forward(const Tensor& images, const Tensor& tokens, const Tensor& eot,
                      const ParallelForward* parallel = nullptr) const;
  // --sync-bn: every batch norm of the image tower takes its training statistics over all ranks
  // (null: each rank's own). Returns the number of batch-norm layers (0 for the ViT).
  int sync_batch_norms(Communicator* comm);

  const ModelConfig& config() const { return cfg_; }
  int64_t generated_size() const { return generated_size_; }  // P

  std::shared_ptr<ImageTower> visual;
  std::shared_ptr<TextTower> text;
  std::shared_ptr<HyperNetwork> hyper;  // null in baseline mode
  Tensor logit_scale, logit_bias;

 private:
  ModelOutput split_set_loss(const Tensor& images, ModelOutput out) const;

  ModelConfig cfg_;
  int64_t generated_size_ = 0;
};

// Parameter counts for `hyperclip params`: trainable parameters, buffers excluded.
struct ParamCounts {
  int64_t image = 0, text = 0, hyper = 0, total = 0;  // total adds logit_scale and logit_bias
};
ParamCounts count_parameters(const ModelConfig& cfg);

}  // namespace hc
