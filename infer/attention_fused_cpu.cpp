// Attention for inference straight from the packed qkv projection (infer/kernels_cpu.h): no
// reshape/permute copies, no saved probabilities. For each head h, over the query rows [q0, q1):
//   Q_h [rows, dh], K_h [L, dh], V_h [L, dh]: dh-wide column slices of qkv [L, 3D] (row stride 3D)
//   S [rows, L] = Q_h K_hᵀ / √dh;  P = softmax over each row of S;  o[rows, h·dh:(h+1)·dh] = P V_h
// The slices are strided Eigen maps, so the two products are GEMMs without copies.
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <cmath>

#include "infer/kernels_cpu.h"

namespace hc::infer {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Strided = Eigen::Map<const RowMatF, 0, Eigen::OuterStride<>>;
using StridedOut = Eigen::Map<RowMatF, 0, Eigen::OuterStride<>>;

void attention_fused(const float* qkv, int64_t L, int64_t D, int64_t heads, float* o, float* scores, int64_t q0,
                     int64_t q1) {
  const int64_t dh = D / heads, rows = q1 - q0, stride = 3 * D;
  if (rows <= 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  Eigen::Map<RowMatF> S(scores, rows, L);
  for (int64_t h = 0; h < heads; ++h) {
    Strided Q(qkv + q0 * stride + h * dh, rows, dh, Eigen::OuterStride<>(stride));
    Strided K(qkv + D + h * dh, L, dh, Eigen::OuterStride<>(stride));
    Strided V(qkv + 2 * D + h * dh, L, dh, Eigen::OuterStride<>(stride));
    S.noalias() = scale * (Q * K.transpose());
    for (int64_t i = 0; i < rows; ++i) {
      float* s = scores + i * L;
      float mx = -INFINITY, z = 0;
      for (int64_t j = 0; j < L; ++j) mx = std::max(mx, s[j]);
      for (int64_t j = 0; j < L; ++j) z += (s[j] = std::exp(s[j] - mx));
      float inv = 1.0f / z;
      for (int64_t j = 0; j < L; ++j) s[j] *= inv;
    }
    StridedOut O(o + q0 * D + h * dh, rows, dh, Eigen::OuterStride<>(D));
    O.noalias() = S * V;
  }
}

}  // namespace hc::infer
