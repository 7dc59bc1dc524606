// batch_norm on the CPU, one channel per OpenMP iteration. x [N, C, L] with L the spatial size.
//   training:  mean, biased var over (N, L);  running = (1-m) running + m (mean, unbiased var)
//   y = (x - mean) * invstd * gamma[set(n), c] + beta[set(n), c]
// The fast kernels read x once for the statistics: sums of d = x - x[0, c, 0] and of d² (shifted
// by the channel's first value, so a large mean does not cancel), vectorised, in double; the
// backward pass likewise takes Σ dy and Σ dy·x̂ in one read, and forms dx in double. The references below them keep the plain double loops (two passes
// for the variance).
#include <algorithm>
#include <cmath>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/norm_sets_cpu.h"
#include "ops/cpu/parallel_cpu.h"
#include "ops/cpu/reference_cpu.h"

namespace hc {

void batch_norm_forward_reference(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& set_index,
                                  const BatchNormParams& p, Tensor& running_mean, Tensor& running_var, Tensor& y,
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
void batch_norm_backward_reference(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                   const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dy,
                                   bool training, Tensor* dx, Tensor* dgamma, Tensor* dbeta) {
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

void CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                    const Tensor& set_index, const BatchNormParams& p,
                                    Tensor& running_mean, Tensor& running_var, Tensor& y,
                                    Tensor& save_mean, Tensor& save_invstd) {
  if (reference_kernels())
    return batch_norm_forward_reference(x, gamma, beta, set_index, p, running_mean, running_var, y, save_mean,
                                        save_invstd);
  int64_t N = x.size(0), C = x.size(1), L = x.numel() / (N * C), S = gamma.size(0);
  std::vector<int32_t> sets = checked_sets("batch_norm", set_index, N, S);
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();      // [N, C, L]
    const T* pg = gamma.data<T>();  // [S, C]
    const T* pb = beta.data<T>();   // [S, C]
    T* py = y.data<T>();            // [N, C, L]
    T* rm = running_mean.data<T>();
    T* rv = running_var.data<T>();
    T* sm = save_mean.data<T>();
    T* si = save_invstd.data<T>();
    const double M = static_cast<double>(N * L);
#pragma omp parallel for schedule(static) if (x.numel() > kParallelGrain)
    for (int64_t c = 0; c < C; ++c) {
      double mean, invstd;
      if (p.training) {
        const T shift = px[c * L];
        double s = 0, ss = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* xr = px + (n * C + c) * L;
          double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
          for (int64_t i = 0; i < L; ++i) {
            double d = static_cast<double>(xr[i]) - static_cast<double>(shift);
            a += d;
            b += d * d;
          }
          s += a;
          ss += b;
        }
        double md = s / M;
        double var = std::max(ss / M - md * md, 0.0);
        mean = double(shift) + md;
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
#pragma omp simd
        for (int64_t i = 0; i < L; ++i) yr[i] = xr[i] * scale + shift;
      }
    }
  });
}

void CpuBackend::batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                     const Tensor& save_mean, const Tensor& save_invstd,
                                     const Tensor& dy, bool training, Tensor* dx, Tensor* dgamma,
                                     Tensor* dbeta) {
  if (reference_kernels())
    return batch_norm_backward_reference(x, gamma, set_index, save_mean, save_invstd, dy, training, dx, dgamma,
                                         dbeta);
  int64_t N = x.size(0), C = x.size(1), L = x.numel() / (N * C), S = gamma.size(0);
  std::vector<int32_t> sets = checked_sets("batch_norm_backward", set_index, N, S);
  dispatch_float(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();     // [N, C, L]
    const T* pg = gamma.data<T>();  // [S, C]
    const T* pdy = dy.data<T>();    // [N, C, L]
    const T* sm = save_mean.data<T>();
    const T* si = save_invstd.data<T>();
    T* pdx = dx ? dx->data<T>() : nullptr;
    T* pdg = dgamma ? dgamma->data<T>() : nullptr;
    T* pdb = dbeta ? dbeta->data<T>() : nullptr;
    const double M = static_cast<double>(N * L);
#pragma omp parallel if (x.numel() > kParallelGrain)
    {
      std::vector<double> dg(S), db(S);
#pragma omp for schedule(static)
      for (int64_t c = 0; c < C; ++c) {
        const double mean = sm[c], invstd = si[c];
        std::fill(dg.begin(), dg.end(), 0.0);
        std::fill(db.begin(), db.end(), 0.0);
        double sum_dxhat = 0, sum_dxhat_xhat = 0;
        for (int64_t n = 0; n < N; ++n) {
          double g = pg[sets[n] * C + c];
          const T* xr = px + (n * C + c) * L;
          const T* gr = pdy + (n * C + c) * L;
          double a = 0, b = 0;  // Σ dy·x̂, Σ dy over this sample's plane
#pragma omp simd reduction(+ : a, b)
          for (int64_t i = 0; i < L; ++i) {
            a += gr[i] * ((xr[i] - mean) * invstd);
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
        // In double, as the reference: dx's terms cancel (its sum over a plane is zero in exact
        // arithmetic), and float32 here made the gradients of biases that a later batch norm
        // cancels up to 1e-6 off zero in an unvectorised build.
        const double m1 = sum_dxhat / M, m2 = sum_dxhat_xhat / M;
        for (int64_t n = 0; n < N; ++n) {
          const double g = pg[sets[n] * C + c];
          const T* xr = px + (n * C + c) * L;
          const T* gr = pdy + (n * C + c) * L;
          T* dr = pdx + (n * C + c) * L;
          if (training) {
#pragma omp simd
            for (int64_t i = 0; i < L; ++i)
              dr[i] = static_cast<T>(invstd * (gr[i] * g - m1 - (xr[i] - mean) * invstd * m2));
          } else {
            const double gi = g * invstd;
#pragma omp simd
            for (int64_t i = 0; i < L; ++i) dr[i] = static_cast<T>(gr[i] * gi);
          }
        }
      }
    }
  });
}

}  // namespace hc
