// Plain loop versions of the fused inference kernels (infer/kernels_cpu.h), written for reading,
// not for speed: each output element is computed straight from the definition, in double, with
// the activations of ops/scalar_math.h. tests/test_runtime.cpp checks the fused kernels against them.
#include <cmath>
#include <vector>

#include "infer/kernels_cpu.h"
#include "ops/scalar_math.h"

namespace hc::infer::ref {

static double act_of(double v, Act act) {
  if (act == Act::SiLU) return v * sigmoid_of(v);
  if (act == Act::GELU) return gelu_of(v);
  if (act == Act::ReLU) return v > 0 ? v : 0.0;
  return v;
}

void linear(const float* x, const float* w, const float* b, const float* residual, float* y, int64_t M, int64_t in,
            int64_t out, Act act) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b ? b[o] : 0;
      for (int64_t i = 0; i < in; ++i) acc += double(x[m * in + i]) * w[o * in + i];
      acc = act_of(acc, act);
      if (residual) acc += residual[m * out + o];  // read before y is written: residual may be y
      y[m * out + o] = static_cast<float>(acc);
    }
}

void conv2d(const float* x, const ConvGeom& g, const float* w, const float* b, const float* add, Act act, float* y) {
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow)
      for (int64_t co = 0; co < g.Cout; ++co) {
        double acc = b ? b[co] : 0;
        for (int64_t c = 0; c < g.Cin; ++c)
          for (int64_t kh = 0; kh < g.K; ++kh)
            for (int64_t kw = 0; kw < g.K; ++kw) {
              int64_t ih = oh * g.stride - g.pad + kh, iw = ow * g.stride - g.pad + kw;
              if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                acc += double(x[(c * g.H + ih) * g.W + iw]) * w[((co * g.Cin + c) * g.K + kh) * g.K + kw];
            }
        int64_t at = (oh * g.OW + ow) * g.Cout + co;
        y[at] = static_cast<float>(act_of(acc, act) + (add ? add[at] : 0.0));
      }
}

void depthwise_conv2d(const float* x, const DepthwiseGeom& g, const float* w, const float* b, Act act, float* y) {
  const int64_t CO = g.out_channels();
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow)
      for (int64_t o = 0; o < CO; ++o) {
        int64_t c = o / g.mult;  // the one input channel of output channel o
        double acc = b[o];
        for (int64_t kh = 0; kh < g.K; ++kh)
          for (int64_t kw = 0; kw < g.K; ++kw) {
            int64_t ih = oh * g.stride - g.pad + kh, iw = ow * g.stride - g.pad + kw;
            if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
              acc += double(x[(ih * g.W + iw) * g.C + c]) * w[(kh * g.K + kw) * CO + o];
          }
        y[(oh * g.OW + ow) * CO + o] = static_cast<float>(act_of(acc, act));
      }
}

void squeeze_excite(float* x, int64_t HW, int64_t C, const float* w1, const float* b1, const float* w2,
                    const float* b2, int64_t R, Act inner, Act out) {
  std::vector<double> pooled(C, 0.0), r(R), s(C);
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t c = 0; c < C; ++c) pooled[c] += x[p * C + c] / double(HW);
  for (int64_t j = 0; j < R; ++j) {
    double acc = b1[j];
    for (int64_t c = 0; c < C; ++c) acc += w1[j * C + c] * pooled[c];
    r[j] = act_of(acc, inner);
  }
  for (int64_t c = 0; c < C; ++c) {
    double acc = b2[c];
    for (int64_t j = 0; j < R; ++j) acc += w2[c * R + j] * r[j];
    s[c] = 1 / (1 + std::exp(-acc));
  }
  for (int64_t p = 0; p < HW; ++p)
    for (int64_t c = 0; c < C; ++c) x[p * C + c] = static_cast<float>(act_of(x[p * C + c] * s[c], out));
}

void layer_norm(const float* x, const float* gamma, const float* beta, int64_t M, int64_t D, double eps, float* y) {
  for (int64_t m = 0; m < M; ++m) {
    double mu = 0, var = 0;
    for (int64_t d = 0; d < D; ++d) mu += x[m * D + d] / double(D);
    for (int64_t d = 0; d < D; ++d) var += (x[m * D + d] - mu) * (x[m * D + d] - mu) / double(D);
    for (int64_t d = 0; d < D; ++d)
      y[m * D + d] = static_cast<float>((x[m * D + d] - mu) / std::sqrt(var + eps) * gamma[d] + beta[d]);
  }
}

void attention(const float* qkv, int64_t L, int64_t D, int64_t heads, float* o) {
  int64_t dh = D / heads;
  std::vector<double> p(L);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < L; ++i) {
      double mx = -INFINITY, z = 0;
      for (int64_t j = 0; j < L; ++j) {
        double s = 0;
        for (int64_t d = 0; d < dh; ++d) s += double(qkv[i * 3 * D + h * dh + d]) * qkv[j * 3 * D + D + h * dh + d];
        p[j] = s / std::sqrt(double(dh));
        mx = std::max(mx, p[j]);
      }
      for (int64_t j = 0; j < L; ++j) z += (p[j] = std::exp(p[j] - mx));
      for (int64_t d = 0; d < dh; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < L; ++j) acc += p[j] / z * qkv[j * 3 * D + 2 * D + h * dh + d];
        o[i * D + h * dh + d] = static_cast<float>(acc);
      }
    }
}

}  // namespace hc::infer::ref
