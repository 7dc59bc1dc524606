// softmax over the last dim.
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor softmax(const Tensor& x) {
  check_same_float("softmax", {x});
  HC_CHECK(x.dim() >= 1 && x.size(-1) > 0, "softmax: empty last dim in ", x.desc());
  Tensor y = empty_like_shape(x, x.shape());
  x.backend().softmax(x, y);
  return record("softmax", y, {x}, {y}, [](const Node& n, const Tensor& g, const std::vector<bool>&) {
    const Tensor& y = n.saved[0];
    Tensor dx = empty_like_shape(y, y.shape());
    y.backend().softmax_backward(y, g, dx);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace hc
