// batch_norm with per-set scale and shift (SPEC 1.1, 1.4), and sync_batch_norm: its statistics over
// the samples of every rank (SPEC §6, --sync-bn).
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

// Per-channel sums of x [N, C, *spatial] as [1, C]: over the spatial run of each (n, c), then over n
// (two contiguous reductions, the reduce_sum kernel's fast paths).
static Tensor channel_sums(const Tensor& x) {
  Backend& be = x.backend();
  int64_t N = x.size(0), C = x.size(1), L = x.numel() / (N * C);
  Tensor per_sample = empty_like_shape(x, {N, C, 1});
  be.reduce_sum(make_view(x, {N, C, L}), per_sample);
  Tensor out = empty_like_shape(x, {1, C});
  be.reduce_sum(make_view(per_sample, {N, C}), out);
  return out;
}

// [C] statistics seen with x's rank for broadcasting: [1, C, 1, ...].
static Tensor channel_view(const Tensor& stat, const Tensor& x) {
  Shape s(x.dim(), 1);
  s[1] = x.size(1);
  return make_view(stat, s);
}

// The statistics come from all-reduced sums (two passes, as the training kernel: the mean first,
// then the squared deviations from it); the normalisation is the kernel's evaluation path with those
// statistics in place of the running ones. Backward: the kernel's evaluation-mode gradient
// dx0 = γ dy invstd, corrected for the statistics' dependence on x with the all-reduced sums
//   dx = dx0 - mean(dx0) - x̂ mean(dx0 x̂)      (means over the M samples of every rank)
// which is the training kernel's invstd (γ dy - mean(γ dy) - x̂ mean(γ dy x̂)).
Tensor sync_batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                       const Tensor& running_var, Communicator& comm, double momentum, double eps,
                       const Tensor& set_index) {
  check_same_float("sync_batch_norm", {x, gamma, beta, running_mean, running_var});
  HC_CHECK(x.dim() >= 2, "sync_batch_norm: input ", x.desc(), " needs [N, C, ...]");
  int64_t C = x.size(1);
  HC_CHECK(running_mean.defined() && running_var.defined() && running_mean.shape() == Shape{C} &&
               running_var.shape() == Shape{C},
           "sync_batch_norm: running statistics must be [", C, "], got ", running_mean.desc(), " and ",
           running_var.desc());
  Tensor g2, b2;
  norm_affine_2d("sync_batch_norm", x, C, gamma, beta, set_index, g2, b2);
  Backend& be = x.backend();
  const double M = static_cast<double>(x.numel() / C) * comm.size();  // equal shapes on every rank
  HC_CHECK(M > 1, "sync_batch_norm: training needs more than one value per channel, got ", x.desc());

  Tensor mean = channel_sums(x);  // [1, C]
  comm.all_reduce(mean);
  be.unary(UnaryOp::Scale, mean, 1.0 / M, mean);
  Tensor dev = empty_like_shape(x, x.shape());
  be.binary(BinaryOp::Sub, x, channel_view(mean, x), dev);
  be.binary(BinaryOp::Mul, dev, dev, dev);
  Tensor var = channel_sums(dev);  // biased variance [1, C]
  dev = Tensor();
  comm.all_reduce(var);
  be.unary(UnaryOp::Scale, var, 1.0 / M, var);

  BatchNormParams p;
  p.training = false;  // normalise with the given statistics
  p.eps = eps;
  Tensor mean_c = make_view(mean, {C}), var_c = make_view(var, {C});
  Tensor y = empty_like_shape(x, x.shape());
  Tensor save_mean = empty_like_shape(x, {C}), save_invstd = empty_like_shape(x, {C});
  be.batch_norm_forward(x, g2, b2, set_index, p, mean_c, var_c, y, save_mean, save_invstd);

  // running = (1 - m) running + m (mean, unbiased variance), as the training kernel.
  Tensor rm = running_mean, rv = running_var, term = empty_like_shape(x, {C});
  be.unary(UnaryOp::Scale, rm, 1 - momentum, rm);
  be.unary(UnaryOp::Scale, mean_c, momentum, term);
  be.binary(BinaryOp::Add, rm, term, rm);
  be.unary(UnaryOp::Scale, rv, 1 - momentum, rv);
  be.unary(UnaryOp::Scale, var_c, momentum * M / (M - 1), term);
  be.binary(BinaryOp::Add, rv, term, rv);

  Communicator* c = &comm;
  return record("sync_batch_norm", y, {x, g2, b2}, {x, g2, set_index, save_mean, save_invstd},
                [c, M](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &x = n.saved[0], &gamma = n.saved[1], &sets = n.saved[2];
                  const Tensor &mean = n.saved[3], &invstd = n.saved[4];
                  Backend& be = x.backend();
                  Tensor dx, dg, db;
                  if (needs[0]) dx = empty_like_shape(x, x.shape());
                  if (needs[1]) dg = empty_like_shape(gamma, gamma.shape());
                  if (needs[2]) db = empty_like_shape(gamma, gamma.shape());
                  be.batch_norm_backward(x, gamma, sets, mean, invstd, g, /*training=*/false,
                                         needs[0] ? &dx : nullptr, needs[1] ? &dg : nullptr,
                                         needs[2] ? &db : nullptr);
                  if (!needs[0]) return std::vector<Tensor>{dx, dg, db};
                  int64_t C = x.size(1);
                  Tensor xhat = empty_like_shape(x, x.shape()), prod = empty_like_shape(x, x.shape());
                  be.binary(BinaryOp::Sub, x, channel_view(mean, x), xhat);
                  be.binary(BinaryOp::Mul, xhat, channel_view(invstd, x), xhat);
                  be.binary(BinaryOp::Mul, dx, xhat, prod);
                  Tensor sums = empty_like_shape(x, {2, C});  // [sum dx0; sum dx0 x̂] over every rank
                  be.slice_assign(channel_sums(dx), 0, 0, sums);
                  be.slice_assign(channel_sums(prod), 0, 1, sums);
                  c->all_reduce(sums);
                  be.unary(UnaryOp::Scale, sums, 1.0 / M, sums);
                  Tensor m1 = empty_like_shape(x, {1, C}), m2 = empty_like_shape(x, {1, C});
                  be.slice(sums, 0, 0, m1);
                  be.slice(sums, 0, 1, m2);
                  be.binary(BinaryOp::Sub, dx, channel_view(m1, x), dx);
                  be.binary(BinaryOp::Mul, xhat, channel_view(m2, x), prod);
                  be.binary(BinaryOp::Sub, dx, prod, dx);
                  return std::vector<Tensor>{dx, dg, db};
                });
}

}  // namespace hc
