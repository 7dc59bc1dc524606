// Elementwise activations and scalar arithmetic on the GPU, forward and backward (the formulas of
// ops/scalar_math.h, shared with the CPU, in float32).
#include "ops/cuda/common_cuda.cuh"
#include "ops/scalar_math.h"

namespace hc {

// y [n] = op(x [n]); y may alias x. Declared in common_cuda.cuh.
__global__ void unary_kernel(UnaryOp op, const float* x, float alpha, float* y, int64_t n) {
  GRID_STRIDE(i, n) y[i] = unary_apply(op, x[i], alpha);
}

// dx [n] = dy [n] * op'(x [n])
__global__ void unary_backward_kernel(UnaryOp op, const float* x, const float* y, const float* dy,
                                      float alpha, float* dx, int64_t n) {
  GRID_STRIDE(i, n) dx[i] = dy[i] * unary_derivative(op, x[i], y[i], alpha);
}

void CudaBackend::unary(UnaryOp op, const Tensor& x, double alpha, Tensor& y) {
  const char* name = unary_op_name(op);
  int64_t n = x.numel();
  const float* px = cf32(name, x);
  float* py = f32(name, y);
  if (n == 0) return;
  unary_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(op, px, static_cast<float>(alpha), py, n);
  cudaLaunchCheck();
}

void CudaBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                 double alpha, Tensor& dx) {
  const char* name = unary_op_name(op);
  int64_t n = x.numel();
  const float* px = cf32(name, x);
  const float* py = cf32(name, y);
  const float* pdy = cf32(name, dy);
  float* pdx = f32(name, dx);
  if (n == 0) return;
  unary_backward_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(op, px, py, pdy, static_cast<float>(alpha), pdx, n);
  cudaLaunchCheck();
}

}  // namespace hc
