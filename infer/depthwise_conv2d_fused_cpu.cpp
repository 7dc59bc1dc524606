// Depthwise convolution, channels-last, with bias and activation fused (infer/kernels_cpu.h).
// Each output pixel is a sum over the K·K taps of w[tap, :] ⊙ x[ih, iw, :]: every operation runs
// along the contiguous channels, which the compiler vectorises. Taps outside the image are skipped
// (zero padding). With a channel multiplier M (MCi's grouped 7×7 downsampling and 3×3 head: M = 2)
// output channels c·M … c·M + M − 1 all read input channel c.
#include "infer/kernels_cpu.h"

namespace hc::infer {

void depthwise_conv2d_fused(const float* x, const DepthwiseGeom& g, const float* w, const float* b, Act act,
                            float* y, int64_t oh0, int64_t oh1) {
  const int64_t C = g.C, M = g.mult, CO = g.out_channels();
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float* __restrict__ acc = y + (oh * g.OW + ow) * CO;  // [C·M]
      for (int64_t o = 0; o < CO; ++o) acc[o] = b[o];
      for (int64_t kh = 0; kh < g.K; ++kh) {
        int64_t ih = oh * g.stride - g.pad + kh;
        if (ih < 0 || ih >= g.H) continue;
        for (int64_t kw = 0; kw < g.K; ++kw) {
          int64_t iw = ow * g.stride - g.pad + kw;
          if (iw < 0 || iw >= g.W) continue;
          const float* __restrict__ xp = x + (ih * g.W + iw) * C;   // [C]
          const float* __restrict__ wp = w + (kh * g.K + kw) * CO;  // [C·M]
          if (M == 1) {
            for (int64_t c = 0; c < C; ++c) acc[c] += wp[c] * xp[c];
          } else {
            for (int64_t c = 0; c < C; ++c)
              for (int64_t j = 0; j < M; ++j) acc[c * M + j] += wp[c * M + j] * xp[c];
          }
        }
      }
    }
    activate(y + oh * g.OW * CO, g.OW * CO, act);  // one output row at a time, while it is in cache
  }
}

}  // namespace hc::infer
