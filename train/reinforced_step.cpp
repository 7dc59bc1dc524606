#include "train/reinforced_step.h"

#include <cmath>

#include "core/tape.h"

namespace hc {

Tensor reinforced_loss(const HyperClip& model, const ReinforcedBatch& b, double distill_weight,
                       ReinforcedLosses* terms) {
  HC_CHECK(distill_weight >= 0 && distill_weight <= 1, "the distillation weight must be in [0, 1], got ", distill_weight);
  // The real captions: the plain forward pass (its loss is their SigLIP loss).
  ModelOutput out = model.forward(b.images, b.tokens, b.eot);
  // One caption batch's weighted terms; the targets come from the teachers alone.
  auto caption_batch = [&](const Tensor& siglip, const Tensor& e, const Tensor& teacher_text, double* s, double* d) {
    Tensor distill = distillation_loss(out.image_emb, e, model.logit_scale,
                                       distillation_targets(b.teacher_image, teacher_text, b.teacher_dims),
                                       distillation_targets(teacher_text, b.teacher_image, b.teacher_dims));
    *s = siglip.item();
    *d = distill.item();
    return add(scale(siglip, 1 - distill_weight), scale(distill, distill_weight));
  };
  ReinforcedLosses t;
  Tensor total = caption_batch(out.loss, out.text_emb, b.teacher_text, &t.siglip_real, &t.distill_real);
  if (b.extra_tokens.defined()) {
    Tensor e = model.encode_text(b.extra_tokens, b.extra_eot);
    Tensor siglip = siglip_loss(out.image_emb, e, model.logit_scale, model.logit_bias);
    total = add(total, caption_batch(siglip, e, b.teacher_extra, &t.siglip_extra, &t.distill_extra));
  }
  if (terms) *terms = t;
  return total;
}

StepResult train_step_reinforced(HyperClip& model, AdamW& opt, const ReinforcedBatch& b, double distill_weight,
                                 double lr, double max_grad_norm, ReinforcedLosses* terms) {
  model.zero_grad();
  current_tape().clear();
  Tensor loss = reinforced_loss(model, b, distill_weight, terms);
  StepResult r;
  r.loss = loss.item();
  // A non-finite loss or gradient stops before the update, so the weights stay as they were.
  if (!std::isfinite(r.loss)) {
    current_tape().clear();
    throw NonFiniteLoss(cat("the loss is ", r.loss));
  }
  loss.backward();
  std::vector<Tensor> params = model.parameters();
  r.grad_norm = clip_grad_norm(params, max_grad_norm > 0 ? max_grad_norm : 1e300);
  if (!std::isfinite(r.grad_norm)) throw NonFiniteLoss(cat("the gradient norm is ", r.grad_norm));
  opt.step(lr);
  clamp_logit_scale(model);
  return r;
}

}  // namespace hc
