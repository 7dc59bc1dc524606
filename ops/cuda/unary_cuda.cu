// Elementwise activations and scalar arithmetic on the GPU, forward and backward (the formulas of
// ops/cpu/unary_cpu.cpp, in float32).
#include "ops/cuda/common_cuda.cuh"

namespace hc {

// Two branches so that exp never overflows.
__device__ inline float sigmoid_f(float x) {
  if (x >= 0.f) return 1.f / (1.f + expf(-x));
  float e = expf(x);
  return e / (1.f + e);
}

// max(x, 0) + log1p(e^-|x|)
__device__ inline float softplus_f(float x) { return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x))); }

__device__ inline float unary_apply(UnaryOp op, float x, float alpha) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return expf(x);
    case UnaryOp::Log: return logf(x);
    case UnaryOp::Sqrt: return sqrtf(x);
    case UnaryOp::Sigmoid: return sigmoid_f(x);
    case UnaryOp::Silu: return x * sigmoid_f(x);
    case UnaryOp::Gelu: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case UnaryOp::Softplus: return softplus_f(x);
    case UnaryOp::Scale: return alpha * x;
    case UnaryOp::AddScalar: return x + alpha;
  }
  return x;
}

// d op(x) / dx from x and y = op(x).
__device__ inline float unary_derivative(UnaryOp op, float x, float y, float alpha) {
  switch (op) {
    case UnaryOp::Neg: return -1.f;
    case UnaryOp::Exp: return y;
    case UnaryOp::Log: return 1.f / x;
    case UnaryOp::Sqrt: return 0.5f / y;
    case UnaryOp::Sigmoid: return y * (1.f - y);
    case UnaryOp::Silu: {
      float s = sigmoid_f(x);
      return s * (1.f + x * (1.f - s));
    }
    case UnaryOp::Gelu:  // Φ(x) + x φ(x)
      return 0.5f * (1.f + erff(x * 0.70710678118654752f)) +
             x * 0.3989422804014327f * expf(-0.5f * x * x);
    case UnaryOp::Softplus: return sigmoid_f(x);
    case UnaryOp::Scale: return alpha;
    case UnaryOp::AddScalar: return 1.f;
  }
  return 1.f;
}

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
