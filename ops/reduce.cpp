// sum, mean, sum_all and sum_to: reductions over dims, with expand as their backward.
#include <algorithm>

#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

// Sums x into the keepdim shape `kept` (x's rank, 1 on reduced dims); backward expands.
static Tensor reduce_to_kept(const char* name, const Tensor& x, const Shape& kept) {
  check_same_float(name, {x});
  Tensor out = empty_like_shape(x, kept);
  x.backend().reduce_sum(x, out);
  return record(name, out, {x}, {x}, [](const Node& n, const Tensor& g, const std::vector<bool>&) {
    const Tensor& x = n.saved[0];
    Tensor dx = empty_like_shape(x, x.shape());
    x.backend().expand(g, dx);
    return std::vector<Tensor>{dx};
  });
}

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Shape kept = x.shape(), dropped;
  std::vector<bool> reduce(x.dim(), false);
  for (int64_t d : dims) reduce[normalize_dim(d, x.dim())] = true;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (reduce[d]) kept[d] = 1;
    else dropped.push_back(x.shape()[d]);
  }
  Tensor out = reduce_to_kept("sum", x, kept);
  return keepdim ? out : reshape(out, dropped);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t count = 1;
  std::vector<bool> seen(x.dim(), false);
  for (int64_t d : dims) {
    int64_t k = normalize_dim(d, x.dim());
    if (!seen[k]) count *= x.shape()[k];
    seen[k] = true;
  }
  HC_CHECK(count > 0, "mean over an empty dimension of ", x.desc());
  return scale(sum(x, dims, keepdim), 1.0 / static_cast<double>(count));
}

Tensor sum_all(const Tensor& x) {
  Tensor out = reduce_to_kept("sum_all", x, Shape(x.dim(), 1));
  return reshape(out, {});
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  HC_CHECK(shape.size() <= x.shape().size(), "sum_to: cannot reduce ", x.desc(), " to ",
           shape_str(shape));
  size_t lead = x.shape().size() - shape.size();
  Shape kept = x.shape();
  for (size_t d = 0; d < kept.size(); ++d) {
    if (d < lead) {
      kept[d] = 1;
    } else if (shape[d - lead] == 1) {
      kept[d] = 1;
    } else {
      HC_CHECK(shape[d - lead] == x.shape()[d], "sum_to: cannot reduce ", x.desc(), " to ",
               shape_str(shape));
    }
  }
  return reshape(reduce_to_kept("sum_to", x, kept), shape);
}

}  // namespace hc
