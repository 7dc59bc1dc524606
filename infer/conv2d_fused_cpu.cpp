// Dense convolution of an NCHW image into channels-last output with bias, activation and an added
// table in the epilogue (the stem conv of a ConvNet, a ViT's patch embedding; infer/kernels_cpu.h).
//   col [p1 − p0, Cin·K·K]  one row per output pixel, inputs ordered (c, kh, kw) like w's rows
//   y[p0:p1] [p1 − p0, Cout] = col · wᵀ, then + b, act, + add, per pixel row
#include "infer/kernels_cpu.h"

namespace hc::infer {

// x [Cin, H, W] -> col [p1 − p0, Cin·K·K], zero where the window hangs over the padding.
static void im2row(const float* x, const ConvGeom& g, float* col, int64_t p0, int64_t p1) {
  int64_t P = g.patch();
  for (int64_t p = p0; p < p1; ++p) {
    int64_t oh = p / g.OW, ow = p % g.OW;
    float* row = col + (p - p0) * P;
    for (int64_t c = 0; c < g.Cin; ++c)
      for (int64_t kh = 0; kh < g.K; ++kh) {
        int64_t ih = oh * g.stride - g.pad + kh;
        float* dst = row + (c * g.K + kh) * g.K;
        if (ih < 0 || ih >= g.H) {
          for (int64_t kw = 0; kw < g.K; ++kw) dst[kw] = 0;
          continue;
        }
        const float* src = x + (c * g.H + ih) * g.W;
        for (int64_t kw = 0; kw < g.K; ++kw) {
          int64_t iw = ow * g.stride - g.pad + kw;
          dst[kw] = (iw >= 0 && iw < g.W) ? src[iw] : 0.0f;
        }
      }
  }
}

void conv2d_fused(const float* x, const ConvGeom& g, const float* w, const float* b, const float* add, Act act,
                  float* y, float* col, int64_t p0, int64_t p1) {
  if (p1 <= p0) return;
  im2row(x, g, col, p0, p1);
  // The pixel rows of col are a [p1 − p0, Cin·K·K] matrix: the GEMM and epilogue are a linear layer's.
  linear_fused(col, w, b, nullptr, y + p0 * g.Cout, g.patch(), g.Cout, act, 0, p1 - p0);
  if (add)
    for (int64_t i = p0 * g.Cout; i < p1 * g.Cout; ++i) y[i] += add[i];
}

}  // namespace hc::infer
