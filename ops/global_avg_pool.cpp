// global_avg_pool: [N, C, H, W] -> [N, C], the mean over each feature map.
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor global_avg_pool(const Tensor& x) {
  check_same_float("global_avg_pool", {x});
  check_rank("global_avg_pool", "input", x, 4);
  HC_CHECK(x.size(2) * x.size(3) > 0, "global_avg_pool: empty feature maps in ", x.desc());
  Tensor y = empty_like_shape(x, {x.size(0), x.size(1)});
  x.backend().global_avg_pool(x, y);
  Shape in_shape = x.shape();
  return record("global_avg_pool", y, {x}, {},
                [in_shape](const Node&, const Tensor& g, const std::vector<bool>&) {
                  Tensor dx = empty_like_shape(g, in_shape);
                  g.backend().global_avg_pool_backward(g, dx);
                  return std::vector<Tensor>{dx};
                });
}

}  // namespace hc
