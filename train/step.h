// One training step of the model: forward, backward, clipping, AdamW, the logit-scale clamp.
#pragma once
#include <cmath>

#include "models/hyperclip.h"
#include "train/adamw.h"
#include "train/data_parallel.h"

namespace hc {

struct StepResult {
  double loss = 0;
  double grad_norm = 0;  // before clipping
  // set_loss split: the loss's two terms (ModelOutput::loss_within, loss_batch); NaN otherwise.
  double loss_within = std::nan(""), loss_batch = std::nan("");
};

// Thrown by train_step when the loss or the gradient is NaN or infinite; the model and the
// optimiser are left untouched.
struct NonFiniteLoss : Error {
  explicit NonFiniteLoss(const std::string& what) : Error(what) {}
};

// images [n, 3, H, W], tokens I32 [n, T], eot I32 [n]. max_grad_norm <= 0 disables clipping.
// With `parallel`, one rank's step of a data-parallel job (SPEC §6): the inputs are its slice of the
// global batch, the loss returned is the global batch's (the ranks' shares summed), the gradients are
// summed over ranks before clipping, and every rank makes the same update.
StepResult train_step(HyperClip& model, AdamW& opt, const Tensor& images, const Tensor& tokens,
                      const Tensor& eot, double lr, double max_grad_norm, DataParallel* parallel = nullptr);

// t' is kept in [0, ln 100] (SPEC 1.5's temperature, as CLIP clamps it).
void clamp_logit_scale(HyperClip& model);

}  // namespace hc
