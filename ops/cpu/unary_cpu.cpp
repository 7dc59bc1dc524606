// Elementwise activations and scalar arithmetic, forward and backward: the reference loops
// (one scalar function per element, ops/scalar_math.h), then the kernels with their float32 fast
// path.
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cmath>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/parallel_cpu.h"
#include "ops/cpu/reference_cpu.h"
#include "ops/scalar_math.h"

namespace hc {

void unary_reference(UnaryOp op, const Tensor& x, double alpha, Tensor& y) {
  dispatch_float(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    int64_t n = x.numel();
    T a = static_cast<T>(alpha);
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
    for (int64_t i = 0; i < n; ++i) py[i] = unary_apply(op, px[i], a);
  });
}

void unary_backward_reference(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
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
    for (int64_t i = 0; i < n; ++i) pdx[i] = pdy[i] * unary_derivative(op, px[i], py[i], a);
  });
}

// Fast path: the float32 transcendental activations (GELU, SiLU, sigmoid), which the scalar
// loop above evaluates one libm call at a time, through Eigen's vectorised exp and erf (a few ulp
// from the libm values; tests/test_cpu_fast_paths.cpp states the tolerance). float64 and every
// other op take the reference loop.
using ArrF = Eigen::Array<float, Eigen::Dynamic, 1>;
constexpr int64_t kChunk = 4096;  // elements per vectorised piece (fits in L1 with its temporaries)

static bool has_fast_path(UnaryOp op, DType dt) {
  return !reference_kernels() && dt == DType::F32 && (op == UnaryOp::Gelu || op == UnaryOp::Silu || op == UnaryOp::Sigmoid);
}

// Runs f(lo, n) over [0, total) in pieces of kChunk, in parallel when large enough.
template <class F>
static void for_chunks(int64_t total, F&& f) {
  int64_t chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for if (total > kParallelGrain) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) f(c * kChunk, std::min(kChunk, total - c * kChunk));
}

void CpuBackend::unary(UnaryOp op, const Tensor& x, double alpha, Tensor& y) {
  if (!has_fast_path(op, x.dtype())) return unary_reference(op, x, alpha, y);
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for_chunks(x.numel(), [&](int64_t lo, int64_t n) {
    Eigen::Map<const ArrF> X(px + lo, n);  // [n]
    Eigen::Map<ArrF> Y(py + lo, n);        // [n], may alias X
    if (op == UnaryOp::Gelu) Y = 0.5f * X * (1.0f + (X * float(M_SQRT1_2)).erf());
    else if (op == UnaryOp::Silu) Y = X / (1.0f + (-X).exp());
    else Y = 1.0f / (1.0f + (-X).exp());
  });
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                double alpha, Tensor& dx) {
  if (!has_fast_path(op, x.dtype())) return unary_backward_reference(op, x, y, dy, alpha, dx);
  const float* px = x.data<float>();
  const float* py = y.data<float>();
  const float* pdy = dy.data<float>();
  float* pdx = dx.data<float>();
  for_chunks(x.numel(), [&](int64_t lo, int64_t n) {
    Eigen::Map<const ArrF> X(px + lo, n), Y(py + lo, n), DY(pdy + lo, n);  // [n] each
    Eigen::Map<ArrF> DX(pdx + lo, n);                                    // [n]
    if (op == UnaryOp::Gelu) {
      // Φ(x) + x φ(x)
      const float inv_sqrt_2pi = 0.3989422804014327f;
      DX = DY * (0.5f * (1.0f + (X * float(M_SQRT1_2)).erf()) + X * inv_sqrt_2pi * (-0.5f * X * X).exp());
    } else if (op == UnaryOp::Silu) {
      ArrF s = 1.0f / (1.0f + (-X).exp());
      DX = DY * s * (1.0f + X * (1.0f - s));
    } else {
      DX = DY * Y * (1.0f - Y);
    }
  });
}

}  // namespace hc
