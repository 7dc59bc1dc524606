// linear with the bias, activation and residual add in the GEMM's epilogue (infer/kernels_cpu.h).
//   y[m0:m1, :] [rows, out] = x[m0:m1, :] [rows, in] · wᵀ [in, out]   (one Eigen GEMM)
// then, while the block is still in cache, + b, act, + residual.
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include "core/error.h"
#include "infer/kernels_cpu.h"

namespace hc::infer {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void linear_fused(const float* x, const float* w, const float* b, const float* residual, float* y, int64_t in,
                  int64_t out, Act act, int64_t m0, int64_t m1) {
  int64_t rows = m1 - m0;
  if (rows <= 0) return;
  HC_CHECK(!residual || act == Act::None, "linear_fused: a residual add takes no activation");
  Eigen::Map<const RowMatF> X(x + m0 * in, rows, in);
  Eigen::Map<const RowMatF> Wt(w, out, in);
  Eigen::Map<RowMatF> Y(y + m0 * out, rows, out);
  if (residual == y) Y.noalias() += X * Wt.transpose();
  else Y.noalias() = X * Wt.transpose();
  for (int64_t m = 0; m < rows; ++m) {
    float* yr = y + (m0 + m) * out;
    if (b)
      for (int64_t o = 0; o < out; ++o) yr[o] += b[o];
    activate(yr, out, act);
    if (residual && residual != y) {
      const float* rr = residual + (m0 + m) * out;
      for (int64_t o = 0; o < out; ++o) yr[o] += rr[o];
    }
  }
}

}  // namespace hc::infer
