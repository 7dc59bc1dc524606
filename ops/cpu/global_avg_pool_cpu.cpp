// global_avg_pool on the CPU: one mean per (image, channel) plane.
#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

void CpuBackend::global_avg_pool(const Tensor& x, Tensor& y) {
  int64_t planes = x.size(0) * x.size(1), hw = x.size(2) * x.size(3);
  dispatch_float(x.dtype(), "global_avg_pool", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for if (x.numel() > kParallelGrain) schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      double s = 0;
      for (int64_t i = 0; i < hw; ++i) s += px[p * hw + i];
      py[p] = static_cast<T>(s / hw);
    }
  });
}

void CpuBackend::global_avg_pool_backward(const Tensor& dy, Tensor& dx) {
  int64_t planes = dx.size(0) * dx.size(1), hw = dx.size(2) * dx.size(3);
  dispatch_float(dx.dtype(), "global_avg_pool_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for if (dx.numel() > kParallelGrain) schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      T g = pdy[p] / static_cast<T>(hw);
      for (int64_t i = 0; i < hw; ++i) pdx[p * hw + i] = g;
    }
  });
}

}  // namespace hc
