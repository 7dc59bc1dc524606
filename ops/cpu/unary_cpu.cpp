// Elementwise activations and scalar arithmetic, forward and backward.
#include <cmath>

#include "core/backend_cpu.h"
#include "ops/cpu/math_cpu.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

template <class T>
static inline T apply(UnaryOp op, T x, T alpha) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Sigmoid: return sigmoid_of(x);
    case UnaryOp::Silu: return x * sigmoid_of(x);
    case UnaryOp::Gelu: return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2)));
    case UnaryOp::Softplus: return softplus_of(x);
    case UnaryOp::Scale: return alpha * x;
    case UnaryOp::AddScalar: return x + alpha;
  }
  return x;
}

// d op(x) / dx, given x and y = op(x).
template <class T>
static inline T derivative(UnaryOp op, T x, T y, T alpha) {
  switch (op) {
    case UnaryOp::Neg: return T(-1);
    case UnaryOp::Exp: return y;
    case UnaryOp::Log: return T(1) / x;
    case UnaryOp::Sqrt: return T(0.5) / y;
    case UnaryOp::Sigmoid: return y * (T(1) - y);
    case UnaryOp::Silu: {
      T s = sigmoid_of(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::Gelu: {
      // Φ(x) + x φ(x), φ the standard normal density.
      const T inv_sqrt_2pi = T(0.3989422804014327);
      return T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2))) + x * inv_sqrt_2pi * std::exp(T(-0.5) * x * x);
    }
    case UnaryOp::Softplus: return sigmoid_of(x);
    case UnaryOp::Scale: return alpha;
    case UnaryOp::AddScalar: return T(1);
  }
  return T(1);
}

void CpuBackend::unary(UnaryOp op, const Tensor& x, double alpha, Tensor& y) {
  dispatch_float(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    int64_t n = x.numel();
    T a = static_cast<T>(alpha);
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
    for (int64_t i = 0; i < n; ++i) py[i] = apply(op, px[i], a);
  });
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                double alpha, Tensor& dx) {
  dispatch_float(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    int64_t n = x.numel();
    T a = static_cast<T>(alpha);
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
    for (int64_t i = 0; i < n; ++i) pdx[i] = pdy[i] * derivative(op, px[i], py[i], a);
  });
}

}  // namespace hc
