// Scalar math shared by the CPU kernels (float and double) and the CUDA kernels (float, on the
// device): the elementwise activations, their derivatives and the binary arithmetic, in their
// numerically stable forms, written once so that both backends compute the same formulas.
#pragma once
#include <algorithm>
#include <cmath>

#include "core/backend.h"

#include "ops/host_device.h"

namespace hc {

// std:: math picks the float overload for T = float, on the host and in CUDA device code alike.
template <class T>
HC_HOST_DEVICE inline T sigmoid_of(T x) {
  using std::exp;
  // Two branches so that exp never overflows.
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  T e = exp(x);
  return e / (T(1) + e);
}

// max(x, 0) + log1p(e^-|x|)
template <class T>
HC_HOST_DEVICE inline T softplus_of(T x) {
  using std::exp;
  using std::fabs;
  using std::log1p;
  return (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)));
}

// GELU, erf form: x Φ(x) = x/2 (1 + erf(x/√2)).
template <class T>
HC_HOST_DEVICE inline T gelu_of(T x) {
  using std::erf;
  return T(0.5) * x * (T(1) + erf(x * T(0.70710678118654752440)));
}

// d GELU / dx = Φ(x) + x φ(x), φ the standard normal density.
template <class T>
HC_HOST_DEVICE inline T gelu_derivative_of(T x) {
  using std::erf;
  using std::exp;
  return T(0.5) * (T(1) + erf(x * T(0.70710678118654752440))) +
         x * T(0.39894228040143267794) * exp(T(-0.5) * x * x);
}

// y = op(x); alpha is the scalar of Scale and AddScalar.
template <class T>
HC_HOST_DEVICE inline T unary_apply(UnaryOp op, T x, T alpha) {
  using std::exp;
  using std::log;
  using std::sqrt;
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return exp(x);
    case UnaryOp::Log: return log(x);
    case UnaryOp::Sqrt: return sqrt(x);
    case UnaryOp::Sigmoid: return sigmoid_of(x);
    case UnaryOp::Silu: return x * sigmoid_of(x);
    case UnaryOp::Gelu: return gelu_of(x);
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    case UnaryOp::Softplus: return softplus_of(x);
    case UnaryOp::Scale: return alpha * x;
    case UnaryOp::AddScalar: return x + alpha;
  }
  return x;
}

// d op(x) / dx, given x and y = op(x) (some derivatives are cheaper from y).
template <class T>
HC_HOST_DEVICE inline T unary_derivative(UnaryOp op, T x, T y, T alpha) {
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
    case UnaryOp::Gelu: return gelu_derivative_of(x);
    case UnaryOp::Relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::Softplus: return sigmoid_of(x);
    case UnaryOp::Scale: return alpha;
    case UnaryOp::AddScalar: return T(1);
  }
  return T(1);
}

template <class T>
HC_HOST_DEVICE inline T binary_apply(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
  }
  return a;
}

}  // namespace hc
