// The AdamW update (see core/backend.h for the formula), elementwise over one parameter.
#include <cmath>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

void CpuBackend::adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr,
                            double beta1, double beta2, double eps, double weight_decay,
                            int64_t step) {
  dispatch_float(param.dtype(), "adamw_step", [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* pm = m.data<T>();
    T* pv = v.data<T>();
    int64_t n = param.numel();
    const T decay = static_cast<T>(1.0 - lr * weight_decay);
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
    const T step_size = static_cast<T>(lr / (1.0 - std::pow(beta1, double(step))));
    const T bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(beta2, double(step))));
    const T e = static_cast<T>(eps);
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      p[i] *= decay;
      pm[i] = pm[i] * b1 + g[i] * (T(1) - b1);
      pv[i] = pv[i] * b2 + g[i] * g[i] * (T(1) - b2);
      p[i] -= step_size * pm[i] / (std::sqrt(pv[i]) / bc2_sqrt + e);
    }
  });
}

}  // namespace hc
