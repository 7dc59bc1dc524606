// batch_norm on the CPU, one channel per OpenMP iteration. x [N, C, L] with L the spatial size.
//   training:  mean, biased var over (N, L);  running = (1-m) running + m (mean, unbiased var)
//   y = (x - mean) * invstd * gamma[set(n), c] + beta[set(n), c]
#include <cmath>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/norm_sets_cpu.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

void CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                    const Tensor& set_index, const BatchNormParams& p,
                                    Tensor& running_mean, Tensor& running_var, Tensor& y,
                                    Tensor& save_mean, Tensor& save_invstd) {
  int64_t N = x.size(0), C = x.size(1), L = x.numel() / (N * C), S = gamma.size(0);
  std::vector<int32_t> sets = checked_sets("batch_norm", set_index, N, S);
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pg = gamma.data<T>();
    const T* pb = beta.data<T>();
    T* py = y.data<T>();
    T* rm = running_mean.data<T>();
    T* rv = running_var.data<T>();
    T* sm = save_mean.data<T>();
    T* si = save_invstd.data<T>();
    const double M = static_cast<double>(N * L);
#pragma omp parallel for schedule(static) if (x.numel() > kParallelGrain)
    for (int64_t c = 0; c < C; ++c) {
      double mean, invstd;
      if (p.training) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0; i < L; ++i) s += px[(n * C + c) * L + i];
        mean = s / M;
        double ss = 0;  // two passes: no cancellation for large means
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0; i < L; ++i) {
            double d = px[(n * C + c) * L + i] - mean;
            ss += d * d;
          }
        double var = ss / M;
        invstd = 1.0 / std::sqrt(var + p.eps);
        rm[c] = static_cast<T>((1 - p.momentum) * rm[c] + p.momentum * mean);
        rv[c] = static_cast<T>((1 - p.momentum) * rv[c] + p.momentum * var * M / (M - 1));
      } else {
        mean = rm[c];
        invstd = 1.0 / std::sqrt(double(rv[c]) + p.eps);
      }
      sm[c] = static_cast<T>(mean);
      si[c] = static_cast<T>(invstd);
      for (int64_t n = 0; n < N; ++n) {
        T scale = static_cast<T>(invstd * pg[sets[n] * C + c]);
        T shift = static_cast<T>(pb[sets[n] * C + c] - mean * invstd * pg[sets[n] * C + c]);
        const T* xr = px + (n * C + c) * L;
        T* yr = py + (n * C + c) * L;
        for (int64_t i = 0; i < L; ++i) yr[i] = xr[i] * scale + shift;
      }
    }
  });
}

// training: dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma
// evaluation: dx = dy * gamma * invstd
// dgamma[s, c] = sum over set s's samples of dy * xhat;  dbeta[s, c] = sum of dy
void CpuBackend::batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                     const Tensor& save_mean, const Tensor& save_invstd,
                                     const Tensor& dy, bool training, Tensor* dx, Tensor* dgamma,
                                     Tensor* dbeta) {
  int64_t N = x.size(0), C = x.size(1), L = x.numel() / (N * C), S = gamma.size(0);
  std::vector<int32_t> sets = checked_sets("batch_norm_backward", set_index, N, S);
  dispatch_float(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pg = gamma.data<T>();
    const T* pdy = dy.data<T>();
    const T* sm = save_mean.data<T>();
    const T* si = save_invstd.data<T>();
    T* pdx = dx ? dx->data<T>() : nullptr;
    T* pdg = dgamma ? dgamma->data<T>() : nullptr;
    T* pdb = dbeta ? dbeta->data<T>() : nullptr;
    const double M = static_cast<double>(N * L);
#pragma omp parallel for schedule(static) if (x.numel() > kParallelGrain)
    for (int64_t c = 0; c < C; ++c) {
      double mean = sm[c], invstd = si[c];
      std::vector<double> dg(S, 0.0), db(S, 0.0);
      double sum_dxhat = 0, sum_dxhat_xhat = 0;
      for (int64_t n = 0; n < N; ++n) {
        double g = pg[sets[n] * C + c];
        const T* xr = px + (n * C + c) * L;
        const T* gr = pdy + (n * C + c) * L;
        double a = 0, b = 0;  // sum dy*xhat, sum dy over this sample's plane
        for (int64_t i = 0; i < L; ++i) {
          double xhat = (xr[i] - mean) * invstd;
          a += gr[i] * xhat;
          b += gr[i];
        }
        dg[sets[n]] += a;
        db[sets[n]] += b;
        sum_dxhat += g * b;
        sum_dxhat_xhat += g * a;
      }
      if (pdg)
        for (int64_t s = 0; s < S; ++s) pdg[s * C + c] = static_cast<T>(dg[s]);
      if (pdb)
        for (int64_t s = 0; s < S; ++s) pdb[s * C + c] = static_cast<T>(db[s]);
      if (!pdx) continue;
      double m1 = sum_dxhat / M, m2 = sum_dxhat_xhat / M;
      for (int64_t n = 0; n < N; ++n) {
        double g = pg[sets[n] * C + c];
        const T* xr = px + (n * C + c) * L;
        const T* gr = pdy + (n * C + c) * L;
        T* dr = pdx + (n * C + c) * L;
        if (training) {
          for (int64_t i = 0; i < L; ++i) {
            double xhat = (xr[i] - mean) * invstd;
            dr[i] = static_cast<T>(invstd * (gr[i] * g - m1 - xhat * m2));
          }
        } else {
          for (int64_t i = 0; i < L; ++i) dr[i] = static_cast<T>(gr[i] * g * invstd);
        }
      }
    }
  });
}

}  // namespace hc
