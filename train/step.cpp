#include "train/step.h"

#include <algorithm>
#include <cmath>

#include "core/grad_mode.h"
#include "core/tape.h"

namespace hc {

void clamp_logit_scale(HyperClip& model) {
  double t = model.logit_scale.item();
  double c = std::clamp(t, 0.0, std::log(100.0));
  if (c != t) model.logit_scale.fill_(c);
}

StepResult train_step(HyperClip& model, AdamW& opt, const Tensor& images, const Tensor& tokens,
                      const Tensor& eot, double lr, double max_grad_norm, DataParallel* parallel) {
  model.zero_grad();
  current_tape().clear();
  ParallelForward pf;
  if (parallel) pf = parallel->forward_options();
  ModelOutput out = model.forward(images, tokens, eot, parallel ? &pf : nullptr);
  StepResult r;
  // Every rank sees the global loss, so a non-finite one stops every rank at the same step.
  r.loss = parallel ? parallel->comm().sum(out.loss.item()) : out.loss.item();
  // A non-finite loss or gradient stops before the update, so the weights stay as they were.
  if (!std::isfinite(r.loss)) {
    current_tape().clear();
    throw NonFiniteLoss(cat("the loss is ", r.loss));
  }
  if (out.loss_within.defined()) {
    r.loss_within = out.loss_within.item();
    r.loss_batch = out.loss_batch.item();
  }
  out.loss.backward();
  std::vector<Tensor> params = model.parameters();
  if (parallel) parallel->all_reduce_gradients(params);  // clipping sees the global batch's gradient
  r.grad_norm = clip_grad_norm(params, max_grad_norm > 0 ? max_grad_norm : 1e300);
  if (!std::isfinite(r.grad_norm)) throw NonFiniteLoss(cat("the gradient norm is ", r.grad_norm));
  opt.step(lr);
  clamp_logit_scale(model);
  return r;
}

}  // namespace hc
