// softmax over the last dim: max-subtracted, so large inputs do not overflow.
//   backward: dx = y * (dy - sum(dy * y))
#include <cmath>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

void CpuBackend::softmax(const Tensor& x, Tensor& y) {
  int64_t D = x.size(-1), R = x.numel() / D;
  dispatch_float(x.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static) if (x.numel() > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = px + r * D;
      T* yr = py + r * D;
      T m = xr[0];
      for (int64_t d = 1; d < D; ++d) m = std::max(m, xr[d]);
      double s = 0;
      for (int64_t d = 0; d < D; ++d) {
        yr[d] = std::exp(xr[d] - m);
        s += yr[d];
      }
      T inv = static_cast<T>(1.0 / s);
      for (int64_t d = 0; d < D; ++d) yr[d] *= inv;
    }
  });
}

void CpuBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  int64_t D = y.size(-1), R = y.numel() / D;
  dispatch_float(y.dtype(), "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* py = y.data<T>();
    const T* pg = dy.data<T>();
    T* pd = dx.data<T>();
#pragma omp parallel for schedule(static) if (y.numel() > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += double(pg[r * D + d]) * py[r * D + d];
      for (int64_t d = 0; d < D; ++d) pd[r * D + d] = static_cast<T>(py[r * D + d] * (pg[r * D + d] - dot));
    }
  });
}

}  // namespace hc
