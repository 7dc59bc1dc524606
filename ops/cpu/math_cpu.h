// Scalar functions shared by CPU kernels, in their numerically stable forms.
#pragma once
#include <algorithm>
#include <cmath>

namespace hc {

template <class T>
inline T sigmoid_of(T x) {
  // Two branches so that exp never overflows.
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

// max(x, 0) + log1p(e^-|x|)
template <class T>
inline T softplus_of(T x) {
  return std::max(x, T(0)) + std::log1p(std::exp(-std::fabs(x)));
}

}  // namespace hc
