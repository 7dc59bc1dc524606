// layer_norm on the CPU: one row (the last dim, D values) per OpenMP iteration. Row r belongs to
// sample r / rows_per_sample, which picks its gamma/beta row through set_index.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/norm_sets_cpu.h"
#include "ops/cpu/parallel_cpu.h"
#include "ops/cpu/reference_cpu.h"

namespace hc {

void layer_norm_forward_reference(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& set_index,
                                  double eps, Tensor& y, Tensor& save_mean, Tensor& save_invstd) {
  int64_t D = x.size(-1), R = x.numel() / D, N = x.size(0), per = R / N, S = gamma.size(0);
  std::vector<int32_t> sets = checked_sets("layer_norm", set_index, N, S);
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pg = gamma.data<T>();
    const T* pb = beta.data<T>();
    T* py = y.data<T>();
    T* sm = save_mean.data<T>();
    T* si = save_invstd.data<T>();
#pragma omp parallel for schedule(static) if (x.numel() > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = px + r * D;
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += xr[d];
      double mean = s / D, ss = 0;
      for (int64_t d = 0; d < D; ++d) ss += (xr[d] - mean) * (xr[d] - mean);
      double invstd = 1.0 / std::sqrt(ss / D + eps);
      sm[r] = static_cast<T>(mean);
      si[r] = static_cast<T>(invstd);
      const T* g = pg + sets[r / per] * D;
      const T* b = pb + sets[r / per] * D;
      T* yr = py + r * D;
      for (int64_t d = 0; d < D; ++d) yr[d] = static_cast<T>((xr[d] - mean) * invstd * g[d] + b[d]);
    }
  });
}

// The fast forward: the same two passes per row (mean, then squared deviations), as vectorised
// reductions with double lanes (each row's sums split the same way for every row of one D), and
// the output in the element type.
void CpuBackend::layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                    const Tensor& set_index, double eps, Tensor& y,
                                    Tensor& save_mean, Tensor& save_invstd) {
  if (reference_kernels()) return layer_norm_forward_reference(x, gamma, beta, set_index, eps, y, save_mean, save_invstd);
  int64_t D = x.size(-1), R = x.numel() / D, N = x.size(0), per = R / N, S = gamma.size(0);
  std::vector<int32_t> sets = checked_sets("layer_norm", set_index, N, S);
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();      // [R, D]
    const T* pg = gamma.data<T>();  // [S, D]
    const T* pb = beta.data<T>();   // [S, D]
    T* py = y.data<T>();            // [R, D]
    T* sm = save_mean.data<T>();
    T* si = save_invstd.data<T>();
#pragma omp parallel for schedule(static) if (x.numel() > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = px + r * D;
      double s = 0, ss = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t d = 0; d < D; ++d) s += xr[d];
      const double mean = s / D;
#pragma omp simd reduction(+ : ss)
      for (int64_t d = 0; d < D; ++d) ss += (xr[d] - mean) * (xr[d] - mean);
      const double invstd = 1.0 / std::sqrt(ss / D + eps);
      sm[r] = static_cast<T>(mean);
      si[r] = static_cast<T>(invstd);
      const T* g = pg + sets[r / per] * D;
      const T* b = pb + sets[r / per] * D;
      T* yr = py + r * D;
      const T m = static_cast<T>(mean), is = static_cast<T>(invstd);
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) yr[d] = (xr[d] - m) * is * g[d] + b[d];
    }
  });
}

// The fast backward's dx rows: layer_norm_dx_rows's sums as vectorised double reductions, the
// output in the element type.
template <class T>
static void layer_norm_dx_rows_fast(const T* px, const T* pg, const T* pdy, const T* sm, const T* si,
                                    const std::vector<int32_t>& sets, int64_t R, int64_t D, int64_t per, T* pdx) {
#pragma omp parallel for schedule(static) if (R * D > kParallelGrain)
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = px + r * D;
    const T* gr = pdy + r * D;
    const T* g = pg + sets[r / per] * D;
    const T mean = sm[r], invstd = si[r];
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t d = 0; d < D; ++d) {
      double dxhat = double(gr[d]) * g[d];
      a += dxhat;
      b += dxhat * double((xr[d] - mean) * invstd);
    }
    const T ma = static_cast<T>(a / D), mb = static_cast<T>(b / D);
    T* dr = pdx + r * D;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) dr[d] = invstd * (gr[d] * g[d] - ma - (xr[d] - mean) * invstd * mb);
  }
}

// dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma, per row,
// the reference's plain loops.
template <class T>
static void layer_norm_dx_rows(const T* px, const T* pg, const T* pdy, const T* sm, const T* si,
                               const std::vector<int32_t>& sets, int64_t R, int64_t D, int64_t per,
                               T* pdx) {
#pragma omp parallel for schedule(static) if (R * D > kParallelGrain)
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = px + r * D;
    const T* gr = pdy + r * D;
    const T* g = pg + sets[r / per] * D;
    double mean = sm[r], invstd = si[r], a = 0, b = 0;
    for (int64_t d = 0; d < D; ++d) {
      double dxhat = double(gr[d]) * g[d];
      a += dxhat;
      b += dxhat * (xr[d] - mean) * invstd;
    }
    a /= D;
    b /= D;
    T* dr = pdx + r * D;
    for (int64_t d = 0; d < D; ++d) {
      double xhat = (xr[d] - mean) * invstd;
      dr[d] = static_cast<T>(invstd * (double(gr[d]) * g[d] - a - xhat * b));
    }
  }
}

// dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma, per row.
// dgamma[s] = sum over set s's rows of dy * xhat, dbeta[s] = sum of dy: columns are split over
// threads so that every sum runs in row order whatever the thread count.
void layer_norm_backward_reference(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                   const Tensor& save_mean, const Tensor& save_invstd,
                                   const Tensor& dy, Tensor* dx, Tensor* dgamma, Tensor* dbeta) {
  int64_t D = x.size(-1), R = x.numel() / D, N = x.size(0), per = R / N, S = gamma.size(0);
  std::vector<int32_t> sets = checked_sets("layer_norm_backward", set_index, N, S);
  dispatch_float(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pg = gamma.data<T>();
    const T* pdy = dy.data<T>();
    const T* sm = save_mean.data<T>();
    const T* si = save_invstd.data<T>();
    if (dx) layer_norm_dx_rows(px, pg, pdy, sm, si, sets, R, D, per, dx->data<T>());
    if (dgamma || dbeta) {
      T* pdg = dgamma ? dgamma->data<T>() : nullptr;
      T* pdb = dbeta ? dbeta->data<T>() : nullptr;
#pragma omp parallel for schedule(static) if (x.numel() > kParallelGrain)
      for (int64_t d = 0; d < D; ++d) {
        std::vector<double> dg(S, 0.0), db(S, 0.0);
        for (int64_t r = 0; r < R; ++r) {
          double g = pdy[r * D + d];
          dg[sets[r / per]] += g * (px[r * D + d] - sm[r]) * si[r];
          db[sets[r / per]] += g;
        }
        for (int64_t s = 0; s < S; ++s) {
          if (pdg) pdg[s * D + d] = static_cast<T>(dg[s]);
          if (pdb) pdb[s * D + d] = static_cast<T>(db[s]);
        }
      }
    }
  });
}

// dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma, per row.
// dgamma[s] = sum over set s's rows of dy * xhat, dbeta[s] = sum of dy: columns are split over
// threads so that every sum runs in row order whatever the thread count.
// The reference walks one column at a time down all rows (a stride-D read per element); the
// kernel takes tiles of kTile columns, so each row's piece is one contiguous read. Every sum
// still runs over the rows in order, with the same expression: dgamma and dbeta are identical;
// dx comes from layer_norm_dx_rows_fast (vectorised row sums: within rounding).
void CpuBackend::layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                     const Tensor& save_mean, const Tensor& save_invstd,
                                     const Tensor& dy, Tensor* dx, Tensor* dgamma, Tensor* dbeta) {
  if (reference_kernels())
    return layer_norm_backward_reference(x, gamma, set_index, save_mean, save_invstd, dy, dx, dgamma, dbeta);
  int64_t D = x.size(-1), R = x.numel() / D, N = x.size(0), per = R / N, S = gamma.size(0);
  std::vector<int32_t> sets = checked_sets("layer_norm_backward", set_index, N, S);
  dispatch_float(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pg = gamma.data<T>();
    const T* pdy = dy.data<T>();
    const T* sm = save_mean.data<T>();
    const T* si = save_invstd.data<T>();
    if (dx) layer_norm_dx_rows_fast(px, pg, pdy, sm, si, sets, R, D, per, dx->data<T>());
    if (dgamma || dbeta) {
      T* pdg = dgamma ? dgamma->data<T>() : nullptr;
      T* pdb = dbeta ? dbeta->data<T>() : nullptr;
      constexpr int64_t kTile = 32;
      int64_t tiles = (D + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) if (x.numel() > kParallelGrain)
      for (int64_t t = 0; t < tiles; ++t) {
        int64_t d0 = t * kTile, nd = std::min(kTile, D - d0);
        std::vector<double> dg(S * kTile, 0.0), db(S * kTile, 0.0);  // [S, kTile]
        for (int64_t r = 0; r < R; ++r) {
          const T* xr = px + r * D + d0;
          const T* gr = pdy + r * D + d0;
          double* dgs = dg.data() + sets[r / per] * kTile;
          double* dbs = db.data() + sets[r / per] * kTile;
          for (int64_t c = 0; c < nd; ++c) {
            double g = gr[c];
            dgs[c] += g * (xr[c] - sm[r]) * si[r];
            dbs[c] += g;
          }
        }
        for (int64_t s = 0; s < S; ++s)
          for (int64_t c = 0; c < nd; ++c) {
            if (pdg) pdg[s * D + d0 + c] = static_cast<T>(dg[s * kTile + c]);
            if (pdb) pdb[s * D + d0 + c] = static_cast<T>(db[s * kTile + c]);
          }
      }
    }
  });
}

}  // namespace hc
