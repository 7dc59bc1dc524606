// Row-wise kernels of the inference runtime (infer/kernels_cpu.h): mean over rows (global pooling),
// layer norm, L2 normalisation. Sums in double, as the tape engine's kernels do.
#include <algorithm>
#include <cmath>
#include <vector>

#include "infer/kernels_cpu.h"

namespace hc::infer {

void mean_rows(const float* x, int64_t n, int64_t P, int64_t C, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    float* yr = y + i * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = 0;
    for (int64_t p = 0; p < P; ++p) {
      const float* xr = x + (i * P + p) * C;
      for (int64_t c = 0; c < C; ++c) yr[c] += xr[c];
    }
    float inv = 1.0f / static_cast<float>(P);
    for (int64_t c = 0; c < C; ++c) yr[c] *= inv;
  }
}

void layer_norm_rows(const float* x, const float* gamma, const float* beta, int64_t D, double eps, float* y,
                     int64_t m0, int64_t m1) {
  for (int64_t m = m0; m < m1; ++m) {
    const float* xr = x + m * D;
    float* yr = y + m * D;
    double s = 0, ss = 0;
    for (int64_t d = 0; d < D; ++d) s += xr[d];
    double mu = s / D;
    for (int64_t d = 0; d < D; ++d) ss += (xr[d] - mu) * (xr[d] - mu);
    float fmu = static_cast<float>(mu), rstd = static_cast<float>(1.0 / std::sqrt(ss / D + eps));
    for (int64_t d = 0; d < D; ++d) yr[d] = (xr[d] - fmu) * rstd * gamma[d] + beta[d];
  }
}

void l2_normalize_rows(float* v, int64_t n, int64_t E) {
  for (int64_t i = 0; i < n; ++i) {
    float* r = v + i * E;
    double ss = 0;
    for (int64_t e = 0; e < E; ++e) ss += double(r[e]) * r[e];
    float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
    for (int64_t e = 0; e < E; ++e) r[e] *= inv;
  }
}

}  // namespace hc::infer
