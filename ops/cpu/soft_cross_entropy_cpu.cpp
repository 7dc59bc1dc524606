// Softmax cross-entropy against soft targets (distillation, SPEC 2.2):
//   loss = -(1/n) sum_i sum_k target_ik (logits_ik - lse_i),  lse_i = log sum_k exp(logits_ik)
//   dlogits_ik = g/n (softmax_ik * sum_k target_ik - target_ik),  dtarget_ik = -g/n (logits_ik - lse_i)
#include <cmath>
#include <vector>

#include "ops/cpu/backend_cpu.h"

namespace hc {

// Row-wise log-sum-exp, max-subtracted for stability.
template <class T>
static double row_lse(const T* row, int64_t K) {
  double m = row[0];
  for (int64_t k = 1; k < K; ++k) m = std::max(m, double(row[k]));
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += std::exp(double(row[k]) - m);
  return m + std::log(s);
}

void CpuBackend::soft_cross_entropy(const Tensor& logits, const Tensor& target, Tensor& loss) {
  dispatch_float(logits.dtype(), "soft_cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    int64_t n = logits.size(0), K = logits.size(1);
    const T* pl = logits.data<T>();
    const T* pt = target.data<T>();
    // Per-row terms, then a serial sum: an OpenMP float reduction would combine partial sums in
    // whatever order threads finish, and losses must repeat bit for bit.
    std::vector<double> row(n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      double lse = row_lse(pl + i * K, K), r = 0;
      for (int64_t k = 0; k < K; ++k) r -= double(pt[i * K + k]) * (pl[i * K + k] - lse);
      row[i] = r;
    }
    double total = 0;
    for (double r : row) total += r;
    loss.data<T>()[0] = static_cast<T>(total / n);
  });
}

void CpuBackend::soft_cross_entropy_backward(const Tensor& logits, const Tensor& target,
                                             const Tensor& dloss, Tensor* dlogits,
                                             Tensor* dtarget) {
  dispatch_float(logits.dtype(), "soft_cross_entropy_backward", [&](auto tag) {
    using T = decltype(tag);
    int64_t n = logits.size(0), K = logits.size(1);
    const T* pl = logits.data<T>();
    const T* pt = target.data<T>();
    double g = double(dloss.data<T>()[0]) / n;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const T* l = pl + i * K;
      const T* t = pt + i * K;
      double lse = row_lse(l, K);
      if (dlogits) {
        double tsum = 0;
        for (int64_t k = 0; k < K; ++k) tsum += t[k];
        T* d = dlogits->data<T>() + i * K;
        for (int64_t k = 0; k < K; ++k) d[k] = static_cast<T>(g * (std::exp(l[k] - lse) * tsum - t[k]));
      }
      if (dtarget) {
        T* d = dtarget->data<T>() + i * K;
        for (int64_t k = 0; k < K; ++k) d[k] = static_cast<T>(-g * (l[k] - lse));
      }
    }
  });
}

}  // namespace hc
