// batch_norm with per-set scale and shift (SPEC 1.1, 1.4).
#include "core/tape.h"
#include "ops/norm_common.h"

namespace hc {

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps, const Tensor& set_index) {
  check_same_float("batch_norm", {x, gamma, beta, running_mean, running_var});
  HC_CHECK(x.dim() >= 2, "batch_norm: input ", x.desc(), " needs [N, C, ...]");
  int64_t C = x.size(1);
  HC_CHECK(running_mean.defined() && running_var.defined() && running_mean.shape() == Shape{C} &&
               running_var.shape() == Shape{C},
           "batch_norm: running statistics must be [", C, "], got ", running_mean.desc(), " and ",
           running_var.desc());
  HC_CHECK(!training || x.numel() / C > 1, "batch_norm: training needs more than one value per channel, got ", x.desc());
  Tensor g2, b2;
  norm_affine_2d("batch_norm", x, C, gamma, beta, set_index, g2, b2);
  BatchNormParams p;
  p.training = training;
  p.momentum = momentum;
  p.eps = eps;
  Tensor y = empty_like_shape(x, x.shape());
  Tensor mean = empty_like_shape(x, {C}), invstd = empty_like_shape(x, {C});
  Tensor rm = running_mean, rv = running_var;
  x.backend().batch_norm_forward(x, g2, b2, set_index, p, rm, rv, y, mean, invstd);
  return record("batch_norm", y, {x, g2, b2}, {x, g2, set_index, mean, invstd},
                [training](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &x = n.saved[0], &gamma = n.saved[1], &sets = n.saved[2];
                  Tensor dx, dg, db;
                  if (needs[0]) dx = empty_like_shape(x, x.shape());
                  if (needs[1]) dg = empty_like_shape(gamma, gamma.shape());
                  if (needs[2]) db = empty_like_shape(gamma, gamma.shape());
                  x.backend().batch_norm_backward(x, gamma, sets, n.saved[3], n.saved[4], g, training,
                                                  needs[0] ? &dx : nullptr, needs[1] ? &dg : nullptr,
                                                  needs[2] ? &db : nullptr);
                  return std::vector<Tensor>{dx, dg, db};
                });
}

}  // namespace hc
