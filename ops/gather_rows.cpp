// gather_rows: one row per sequence at a given position (the end-of-text token's feature).
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor gather_rows(const Tensor& x, const Tensor& index) {
  check_same_float("gather_rows", {x});
  check_rank("gather_rows", "input", x, 3);
  check_index("gather_rows", "index", index, x.device());
  HC_CHECK(index.dim() == 1 && index.size(0) == x.size(0), "gather_rows: index ", index.desc(),
           " needs one position per row of ", x.desc());
  Tensor out = empty_like_shape(x, {x.size(0), x.size(2)});
  x.backend().gather_rows(x, index, out);
  Shape xshape = x.shape();
  return record("gather_rows", out, {x}, {index},
                [xshape](const Node& n, const Tensor& g, const std::vector<bool>&) {
                  Tensor dx = empty_like_shape(g, xshape);
                  g.backend().gather_rows_backward(n.saved[0], g, dx);
                  return std::vector<Tensor>{dx};
                });
}

}  // namespace hc
