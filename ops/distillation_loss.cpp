// distillation_targets and distillation_loss: MobileCLIP's multi-modal distillation (SPEC 2.2).
// Both are compositions of existing ops (slice, matmul, scale, softmax, exp, mul, transpose,
// soft_cross_entropy), so they need no kernel of their own and run on every backend that runs
// those; their gradient checks are the cases in tests/test_distillation_loss.cpp.
#include "core/grad_mode.h"
#include "ops/ops.h"

namespace hc {

Tensor distillation_targets(const Tensor& rows, const Tensor& cols, const std::vector<int64_t>& dims,
                            double scale_by) {
  check_same_float("distillation_targets", {rows, cols});
  check_rank("distillation_targets", "rows", rows, 2);
  check_rank("distillation_targets", "columns", cols, 2);
  HC_CHECK(!dims.empty(), "distillation_targets: no teachers");
  int64_t total = 0;
  for (int64_t d : dims) {
    HC_CHECK(d > 0, "distillation_targets: a teacher's embedding size must be positive, got ", d);
    total += d;
  }
  HC_CHECK(rows.size(1) == total && cols.size(1) == total, "distillation_targets: rows ", rows.desc(),
           " and columns ", cols.desc(), " must have the teachers' ", total, " concatenated features");
  HC_CHECK(rows.size(0) > 0 && cols.size(0) > 0, "distillation_targets: empty input");
  // The targets are constants of the student's loss: no tape, whatever the inputs.
  NoGradGuard no_grad;
  Tensor sum_of_softmax;
  int64_t at = 0;
  for (int64_t d : dims) {
    // One teacher's similarities [n, m] of its own (L2-normalised) embeddings, row softmax.
    Tensor p = softmax(scale(matmul(slice(rows, 1, at, at + d), slice(cols, 1, at, at + d), false, true), scale_by));
    sum_of_softmax = sum_of_softmax.defined() ? add(sum_of_softmax, p) : p;
    at += d;
  }
  return dims.size() == 1 ? sum_of_softmax : scale(sum_of_softmax, 1.0 / static_cast<double>(dims.size()));
}

Tensor distillation_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& target_i2t,
                         const Tensor& target_t2i) {
  check_same_float("distillation_loss", {v, e, t_prime, target_i2t, target_t2i});
  check_rank("distillation_loss", "image embeddings", v, 2);
  check_rank("distillation_loss", "text embeddings", e, 2);
  HC_CHECK(v.size(1) == e.size(1), "distillation_loss: image embeddings ", v.desc(), " and text embeddings ",
           e.desc(), " differ in width");
  HC_CHECK(t_prime.numel() == 1, "distillation_loss: t' must have one element, got ", t_prime.desc());
  const Shape i2t = {v.size(0), e.size(0)}, t2i = {e.size(0), v.size(0)};
  HC_CHECK(target_i2t.shape() == i2t && target_t2i.shape() == t2i, "distillation_loss: targets ",
           target_i2t.desc(), " and ", target_t2i.desc(), " must be ", shape_str(i2t), " and ", shape_str(t2i));
  // The student's similarities at its own scale t = exp(t'), the SigLIP loss's (SPEC 1.5).
  Tensor logits = mul(matmul(v, e, false, true), exp(reshape(t_prime, {})));  // [n, m]
  Tensor image_to_text = soft_cross_entropy(logits, target_i2t);
  Tensor text_to_image = soft_cross_entropy(transpose(logits, 0, 1), target_t2i);
  return scale(add(image_to_text, text_to_image), 0.5);
}

}  // namespace hc
