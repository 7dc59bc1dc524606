// slice: x[..., start:end, ...] along one dim, copied.
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  int d = static_cast<int>(normalize_dim(dim, x.dim()));
  int64_t len = x.shape()[d];
  HC_CHECK(0 <= start && start <= end && end <= len, "slice [", start, ", ", end, ") out of range for dim ",
           d, " of ", x.desc());
  Shape s = x.shape();
  s[d] = end - start;
  Tensor out = empty_like_shape(x, s);
  x.backend().slice(x, d, start, out);
  Shape in_shape = x.shape();
  return record("slice", out, {x}, {},
                [d, start, in_shape](const Node&, const Tensor& g, const std::vector<bool>&) {
                  Tensor dx = zeros_like_shape(g, in_shape);
                  g.backend().slice_assign(g, d, start, dx);
                  return std::vector<Tensor>{dx};
                });
}

}  // namespace hc
