// l2_normalize: unit-length rows (image and text embeddings).
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor l2_normalize(const Tensor& x, double eps) {
  check_same_float("l2_normalize", {x});
  HC_CHECK(x.dim() >= 1 && x.size(-1) > 0, "l2_normalize: empty last dim in ", x.desc());
  Shape rows_shape(x.shape().begin(), x.shape().end() - 1);
  Tensor y = empty_like_shape(x, x.shape());
  Tensor norms = empty_like_shape(x, rows_shape);
  x.backend().l2_normalize(x, eps, y, norms);
  return record("l2_normalize", y, {x}, {y, norms},
                [eps](const Node& n, const Tensor& g, const std::vector<bool>&) {
                  const Tensor &y = n.saved[0], &norms = n.saved[1];
                  Tensor dx = empty_like_shape(y, y.shape());
                  y.backend().l2_normalize_backward(y, norms, g, eps, dx);
                  return std::vector<Tensor>{dx};
                });
}

}  // namespace hc
