// soft_cross_entropy: cross-entropy of softmax(logits) against probability rows (SPEC 2.2).
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor soft_cross_entropy(const Tensor& logits, const Tensor& target) {
  check_same_float("soft_cross_entropy", {logits, target});
  check_rank("soft_cross_entropy", "logits", logits, 2);
  HC_CHECK(logits.shape() == target.shape(), "soft_cross_entropy: logits ", logits.desc(),
           " and target ", target.desc(), " differ in shape");
  HC_CHECK(logits.size(0) > 0 && logits.size(1) > 0, "soft_cross_entropy: empty input ", logits.desc());
  Tensor loss = empty_like_shape(logits, {});
  logits.backend().soft_cross_entropy(logits, target, loss);
  return record("soft_cross_entropy", loss, {logits, target}, {logits, target},
                [](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &logits = n.saved[0], &target = n.saved[1];
                  Tensor dl, dt;
                  if (needs[0]) dl = empty_like_shape(logits, logits.shape());
                  if (needs[1]) dt = empty_like_shape(target, target.shape());
                  logits.backend().soft_cross_entropy_backward(logits, target, g,
                                                               needs[0] ? &dl : nullptr,
                                                               needs[1] ? &dt : nullptr);
                  return std::vector<Tensor>{dl, dt};
                });
}

}  // namespace hc
