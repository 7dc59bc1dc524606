// layer_norm over the last dim, with per-set scale and shift (SPEC 1.2, 1.4).
#include "core/tape.h"
#include "ops/norm_common.h"

namespace hc {

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                  const Tensor& set_index) {
  check_same_float("layer_norm", {x, gamma, beta});
  HC_CHECK(x.dim() >= 2, "layer_norm: input ", x.desc(), " needs [N, ..., D]");
  int64_t D = x.size(-1);
  Tensor g2, b2;
  norm_affine_2d("layer_norm", x, D, gamma, beta, set_index, g2, b2);
  Tensor y = empty_like_shape(x, x.shape());
  int64_t rows = x.numel() / D;
  Tensor mean = empty_like_shape(x, {rows}), invstd = empty_like_shape(x, {rows});
  x.backend().layer_norm_forward(x, g2, b2, set_index, eps, y, mean, invstd);
  return record("layer_norm", y, {x, g2, b2}, {x, g2, set_index, mean, invstd},
                [](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &x = n.saved[0], &gamma = n.saved[1], &sets = n.saved[2];
                  Tensor dx, dg, db;
                  if (needs[0]) dx = empty_like_shape(x, x.shape());
                  if (needs[1]) dg = empty_like_shape(gamma, gamma.shape());
                  if (needs[2]) db = empty_like_shape(gamma, gamma.shape());
                  x.backend().layer_norm_backward(x, gamma, sets, n.saved[3], n.saved[4], g,
                                                  needs[0] ? &dx : nullptr, needs[1] ? &dg : nullptr,
                                                  needs[2] ? &db : nullptr);
                  return std::vector<Tensor>{dx, dg, db};
                });
}

}  // namespace hc
