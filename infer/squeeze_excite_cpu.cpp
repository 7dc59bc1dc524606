// Squeeze-excitation of one channels-last image, in place (infer/kernels_cpu.h):
//   pooled [C] = mean over the HW pixel rows of x [HW, C]
//   r [R] = inner(w1 [R, C] · pooled + b1),  s [C] = σ(w2 [C, R] · r + b2)
//   x[p, :] = out(x[p, :] ⊙ s)
// The two products are matrix-vector sized, so plain loops (no GEMM) do.
#include <cmath>

#include "infer/kernels_cpu.h"

namespace hc::infer {

void squeeze_excite(float* x, int64_t HW, int64_t C, const float* w1, const float* b1, const float* w2,
                    const float* b2, int64_t R, float* scratch, Act inner, Act out) {
  float* pooled = scratch;  // [C]
  float* r = scratch + C;   // [R]
  mean_rows(x, 1, HW, C, pooled);
  for (int64_t j = 0; j < R; ++j) {
    float acc = b1[j];
    for (int64_t c = 0; c < C; ++c) acc += w1[j * C + c] * pooled[c];
    r[j] = acc;
  }
  activate(r, R, inner);
  for (int64_t c = 0; c < C; ++c) {
    float acc = b2[c];
    for (int64_t j = 0; j < R; ++j) acc += w2[c * R + j] * r[j];
    pooled[c] = 1.0f / (1.0f + std::exp(-acc));  // σ; exp overflow gives 0, as it should
  }
  for (int64_t p = 0; p < HW; ++p) {
    float* __restrict__ row = x + p * C;
    for (int64_t c = 0; c < C; ++c) row[c] *= pooled[c];
    activate(row, C, out);
  }
}

}  // namespace hc::infer
