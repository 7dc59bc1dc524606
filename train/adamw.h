// AdamW with PyTorch's semantics, global-norm gradient clipping, and the learning-rate schedule
// (docs/model.md, "Optimiser").
#pragma once
#include <string>
#include <vector>

#include "core/module.h"

namespace hc {

struct AdamWConfig {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.98, eps = 1e-6;
  double weight_decay = 0.1;
  // Learning-rate multiplier for the hypernetwork's parameters (names starting "hyper."), like a
  // PyTorch parameter group with its own lr: the step's lr and its decoupled weight decay both scale.
  double hyper_lr_scale = 1.0;
};

// Weight decay applies to parameters with two or more dims, except embeddings
// (token_embedding.weight, positional_embedding, pos_embed, hyper.tokens). Norm parameters,
// biases, logit_scale and logit_bias have fewer dims and are never decayed.
bool decays(const std::string& name, const Tensor& param);

class AdamW {
 public:
  AdamW(const NamedTensors& params, const AdamWConfig& cfg);
  // One update with learning rate lr (the schedule's value for this step). Parameters without a
  // gradient are skipped, as in PyTorch.
  void step(double lr);
  int64_t steps() const { return step_; }

  // Optimiser state for checkpoints: exp_avg and exp_avg_sq per parameter, by parameter name.
  struct Slot {
    std::string name;
    Tensor param, m, v;
    bool decay;
    double lr_scale = 1.0;
  };
  std::vector<Slot>& slots() { return slots_; }
  const std::vector<Slot>& slots() const { return slots_; }
  void set_steps(int64_t s) { step_ = s; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  AdamWConfig cfg_;
  std::vector<Slot> slots_;
  int64_t step_ = 0;
};

// Scales every gradient so that their global L2 norm is at most max_norm (PyTorch's
// clip_grad_norm_: factor max_norm / (norm + 1e-6) when that is below 1). Returns the norm before
// clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

// Linear warmup, then cosine decay to 0 at `total` steps; step counts from 0.
double lr_at(int64_t step, double base_lr, int64_t warmup, int64_t total);

}  // namespace hc
