// One training step on a batch of a reinforced dataset (SPEC 2.2): the student's SigLIP loss and
// the distillation loss against the stored teacher embeddings, for the batch's real captions and,
// when given, an extra caption per image, weighted (1−λ)·SigLIP + λ·distillation and summed.
#pragma once
#include <vector>

#include "train/step.h"

namespace hc {

// A reinforced batch of n images, on the model's device.
struct ReinforcedBatch {
  Tensor images;                    // [n, 3, S, S], the replayed stored views
  Tensor tokens, eot;               // the real captions; the hypernetwork's set
  Tensor extra_tokens, extra_eot;   // the extra captions; undefined: no extra-caption batch
  Tensor teacher_image;             // [n, D] the teachers' embeddings of the stored views
  Tensor teacher_text;              // [n, D] of the real captions
  Tensor teacher_extra;             // [n, D] of the extra captions (with extra_tokens)
  std::vector<int64_t> teacher_dims;  // each teacher's width in D, in column order
};

// The loss terms of a step, unweighted (what metrics.jsonl logs); the extra ones are 0 without an
// extra-caption batch.
struct ReinforcedLosses {
  double siglip_real = 0, distill_real = 0, siglip_extra = 0, distill_extra = 0;
};

// The objective: Σ over the real (and extra) captions of (1−λ)·SigLIP + λ·distillation; 0-dim. The
// image tower runs once, with the hypernetwork's set made of the real captions.
Tensor reinforced_loss(const HyperClip& model, const ReinforcedBatch& b, double distill_weight,
                       ReinforcedLosses* terms = nullptr);

// As train_step (train/step.h), on that objective: forward, backward, clipping, AdamW, the
// logit-scale clamp; a non-finite loss or gradient throws NonFiniteLoss before the update.
StepResult train_step_reinforced(HyperClip& model, AdamW& opt, const ReinforcedBatch& b, double distill_weight,
                                 double lr, double max_grad_norm, ReinforcedLosses* terms = nullptr);

}  // namespace hc
