// The AdamW update on the GPU (formula in core/backend.h), elementwise over one parameter, with
// the step-dependent constants computed on the host exactly as the CPU kernel does.
#include <cmath>

#include "ops/cuda/common_cuda.cuh"

namespace hc {

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n, float decay, float b1,
                             float b2, float step_size, float bc2_sqrt, float eps) {
  GRID_STRIDE(i, n) {
    float gi = g[i];
    float pi = p[i] * decay;
    float mi = m[i] * b1 + gi * (1.f - b1);
    float vi = v[i] * b2 + gi * gi * (1.f - b2);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}

void CudaBackend::adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1,
                             double beta2, double eps, double weight_decay, int64_t step) {
  const char* op = "adamw_step";
  float *pp = f32(op, param), *pm = f32(op, m), *pv = f32(op, v);
  const float* pg = cf32(op, grad);
  int64_t n = param.numel();
  if (n == 0) return;
  const float decay = static_cast<float>(1.0 - lr * weight_decay);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(beta1, double(step))));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(beta2, double(step))));
  adamw_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(pp, pg, pm, pv, n, decay, static_cast<float>(beta1),
                                                         static_cast<float>(beta2), step_size, bc2_sqrt,
                                                         static_cast<float>(eps));
  cudaLaunchCheck();
}

}  // namespace hc
