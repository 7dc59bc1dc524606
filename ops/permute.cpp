// permute and transpose: a new contiguous tensor with the dims reordered.
#include <numeric>

#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor permute(const Tensor& x, const std::vector<int>& perm) {
  HC_CHECK(static_cast<int64_t>(perm.size()) == x.dim(), "permute: ", perm.size(),
           " dims given for ", x.desc());
  std::vector<int> inverse(perm.size(), -1);
  Shape s(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) {
    int p = perm[k];
    HC_CHECK(p >= 0 && p < static_cast<int>(perm.size()) && inverse[p] < 0,
             "permute: not a permutation of the dims of ", x.desc());
    inverse[p] = static_cast<int>(k);
    s[k] = x.shape()[p];
  }
  Tensor out = empty_like_shape(x, s);
  x.backend().permute(x, perm, out);
  return record("permute", out, {x}, {},
                [inverse](const Node&, const Tensor& g, const std::vector<bool>&) {
                  return std::vector<Tensor>{permute(g, inverse)};
                });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  std::vector<int> perm(x.dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[normalize_dim(dim0, x.dim())], perm[normalize_dim(dim1, x.dim())]);
  return permute(x, perm);
}

}  // namespace hc
