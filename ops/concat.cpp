// concat: tensors joined along one dim.
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  HC_CHECK(!xs.empty(), "concat of no tensors");
  check_same_float("concat", xs);
  int d = static_cast<int>(normalize_dim(dim, xs[0].dim()));
  Shape s = xs[0].shape();
  s[d] = 0;
  for (const Tensor& x : xs) {
    HC_CHECK(x.dim() == xs[0].dim(), "concat: ranks differ: ", xs[0].desc(), " and ", x.desc());
    for (int64_t k = 0; k < x.dim(); ++k)
      HC_CHECK(k == d || x.shape()[k] == xs[0].shape()[k], "concat along ", d, ": ", xs[0].desc(),
               " and ", x.desc());
    s[d] += x.shape()[d];
  }
  Tensor out = empty_like_shape(xs[0], s);
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& x : xs) {
    starts.push_back(at);
    out.backend().slice_assign(x, d, at, out);
    at += x.shape()[d];
  }
  return record("concat", out, xs, {},
                [d, starts](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  std::vector<Tensor> grads(n.inputs.size());
                  for (size_t i = 0; i < grads.size(); ++i) {
                    if (!needs[i]) continue;
                    Tensor gi = empty_like_shape(g, n.inputs[i].shape());
                    g.backend().slice(g, d, starts[i], gi);
                    grads[i] = gi;
                  }
                  return grads;
                });
}

}  // namespace hc
