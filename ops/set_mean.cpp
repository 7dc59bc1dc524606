// set_mean: the mean of each set's rows (sets given by a per-row index).
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor set_mean(const Tensor& x, const Tensor& set_index, int64_t num_sets) {
  check_same_float("set_mean", {x});
  check_rank("set_mean", "input", x, 2);
  check_index("set_mean", "set_index", set_index, x.device());
  HC_CHECK(set_index.dim() == 1 && set_index.size(0) == x.size(0), "set_mean: set_index ",
           set_index.desc(), " needs one entry per row of ", x.desc());
  HC_CHECK(num_sets >= 1, "set_mean: num_sets must be positive, got ", num_sets);
  Tensor out = empty_like_shape(x, {num_sets, x.size(1)});
  x.backend().set_mean(x, set_index, out);
  Shape xshape = x.shape();
  return record("set_mean", out, {x}, {set_index},
                [xshape](const Node& n, const Tensor& g, const std::vector<bool>&) {
                  Tensor dx = empty_like_shape(g, xshape);
                  g.backend().set_mean_backward(n.saved[0], g, dx);
                  return std::vector<Tensor>{dx};
                });
}

}  // namespace hc
