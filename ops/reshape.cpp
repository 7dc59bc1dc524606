// reshape: a view of the same storage with another shape.
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t d = 0; d < s.size(); ++d) {
    if (s[d] == -1) {
      HC_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(d);
    } else {
      HC_CHECK(s[d] >= 0, "reshape: bad dimension in ", shape_str(shape));
      known *= s[d];
    }
  }
  if (infer >= 0) {
    HC_CHECK(known > 0 && x.numel() % known == 0, "reshape: cannot view ", x.desc(), " as ",
             shape_str(shape));
    s[infer] = x.numel() / known;
  }
  HC_CHECK(numel(s) == x.numel(), "reshape: cannot view ", x.desc(), " as ", shape_str(shape));
  Tensor out = make_view(x, s);
  Shape in_shape = x.shape();
  return record("reshape", out, {x}, {},
                [in_shape](const Node&, const Tensor& g, const std::vector<bool>&) {
                  return std::vector<Tensor>{make_view(g, in_shape)};
                });
}

}  // namespace hc
