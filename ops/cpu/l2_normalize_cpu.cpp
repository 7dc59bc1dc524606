// l2_normalize over the last dim: y = x / max(||x||, eps).
#include <cmath>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

void CpuBackend::l2_normalize(const Tensor& x, double eps, Tensor& y, Tensor& norms) {
  int64_t D = x.size(-1), rows = x.numel() / D;
  dispatch_float(x.dtype(), "l2_normalize", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    T* pn = norms.data<T>();
#pragma omp parallel for if (x.numel() > kParallelGrain) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * D;
      double ss = 0;
      for (int64_t j = 0; j < D; ++j) ss += double(xr[j]) * xr[j];
      double norm = std::sqrt(ss);
      pn[r] = static_cast<T>(norm);
      T inv = static_cast<T>(1.0 / std::max(norm, eps));
      for (int64_t j = 0; j < D; ++j) py[r * D + j] = xr[j] * inv;
    }
  });
}

// With n = ||x|| > eps: dx = (dy - y (y.dy)) / n. Below eps the op is x/eps, so dx = dy/eps.
void CpuBackend::l2_normalize_backward(const Tensor& y, const Tensor& norms, const Tensor& dy,
                                       double eps, Tensor& dx) {
  int64_t D = y.size(-1), rows = y.numel() / D;
  dispatch_float(y.dtype(), "l2_normalize_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* py = y.data<T>();
    const T* pn = norms.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for if (y.numel() > kParallelGrain) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* yr = py + r * D;
      const T* gr = pdy + r * D;
      T* dr = pdx + r * D;
      double norm = pn[r];
      if (norm > eps) {
        double dot = 0;
        for (int64_t j = 0; j < D; ++j) dot += double(yr[j]) * gr[j];
        for (int64_t j = 0; j < D; ++j) dr[j] = static_cast<T>((gr[j] - yr[j] * dot) / norm);
      } else {
        for (int64_t j = 0; j < D; ++j) dr[j] = static_cast<T>(gr[j] / eps);
      }
    }
  });
}

}  // namespace hc
