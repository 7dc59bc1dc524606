// The SigLIP sigmoid loss (SPEC 1.5), fused: logits, softplus and the reduction in one kernel,
// so the n×n logit matrix never becomes a tape tensor.
//   l_ij = t (v_i . e_j) + b,  t = exp(t')
//   L    = (1/n) [ sum_ij softplus(l_ij) - sum_i l_ii ]
//   G_ij = (sigmoid(l_ij) - [i=j]) / n
//   dv = t G e,  de = t Gᵀ v,  db = sum G,  dt' = sum G_ij (l_ij - b)
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <cmath>

#include "ops/cpu/backend_cpu.h"
#include "ops/scalar_math.h"

namespace hc {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// logits [n, m] = t v eᵀ + b
template <class T>
static RowMat<T> siglip_logits(const Tensor& v, const Tensor& e, T t, T b) {
  int64_t n = v.size(0), m = e.size(0), E = v.size(1);
  Eigen::Map<const RowMat<T>> V(v.data<T>(), n, E), Em(e.data<T>(), m, E);
  RowMat<T> logits = V * Em.transpose();
  logits.array() = logits.array() * t + b;
  return logits;
}

// Whether column j of row i is the positive pair.
static bool positive(int64_t i, int64_t j, int64_t offset) { return j - i == offset; }

void CpuBackend::siglip_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime,
                             const Tensor& b, int64_t positive_offset, int64_t batch, Tensor& loss) {
  dispatch_float(v.dtype(), "siglip_loss", [&](auto tag) {
    using T = decltype(tag);
    int64_t n = v.size(0), m = e.size(0);
    T t = std::exp(t_prime.data<T>()[0]);
    RowMat<T> logits = siglip_logits<T>(v, e, t, b.data<T>()[0]);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < m; ++j) total += softplus_of(logits(i, j));
      int64_t p = i + positive_offset;
      if (p >= 0 && p < m) total -= logits(i, p);
    }
    loss.data<T>()[0] = static_cast<T>(total / batch);
  });
}

void CpuBackend::siglip_loss_backward(const Tensor& v, const Tensor& e, const Tensor& t_prime,
                                      const Tensor& b, int64_t positive_offset, int64_t batch,
                                      const Tensor& dloss, Tensor* dv, Tensor* de,
                                      Tensor* dt_prime, Tensor* db) {
  dispatch_float(v.dtype(), "siglip_loss_backward", [&](auto tag) {
    using T = decltype(tag);
    int64_t n = v.size(0), m = e.size(0), E = v.size(1);
    T t = std::exp(t_prime.data<T>()[0]), bias = b.data<T>()[0];
    RowMat<T> logits = siglip_logits<T>(v, e, t, bias);
    T g = dloss.data<T>()[0] / static_cast<T>(batch);
    RowMat<T> G(n, m);  // dL/dlogits
    double sum_g = 0, sum_gs = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        T gij = (sigmoid_of(logits(i, j)) - T(positive(i, j, positive_offset) ? 1 : 0)) * g;
        G(i, j) = gij;
        sum_g += gij;
        sum_gs += double(gij) * (logits(i, j) - bias);  // l_ij - b = t (v_i . e_j)
      }
    Eigen::Map<const RowMat<T>> V(v.data<T>(), n, E), Em(e.data<T>(), m, E);
    if (dv) Eigen::Map<RowMat<T>>(dv->data<T>(), n, E).noalias() = t * (G * Em);
    if (de) Eigen::Map<RowMat<T>>(de->data<T>(), m, E).noalias() = t * (G.transpose() * V);
    if (db) db->data<T>()[0] = static_cast<T>(sum_g);
    if (dt_prime) dt_prime->data<T>()[0] = static_cast<T>(sum_gs);
  });
}

}  // namespace hc
