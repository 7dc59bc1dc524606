// Host-side shape arithmetic shared by the ops that size outputs, the CPU kernels (ops/cpu) and the
// CUDA kernels (ops/cuda): written once here so that the backends cannot disagree about it.
#pragma once
#include <cstdint>
#include <vector>

#include "core/backend.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "ops/host_device.h"

namespace hc {

// Output length of a convolution along one axis: floor((in + 2·pad − k) / stride) + 1.
inline int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  return (in + 2 * pad - k) / stride + 1;
}

// Every size of one conv2d call: x [N, Cin, H, W], w [Cout, Cin/G, KH, KW], y [N, Cout, OH, OW].
struct ConvGeometry {
  int64_t N, Cin, H, W, Cout, KH, KW, OH, OW;
  int64_t G, Cg_in, Cg_out;  // groups, input and output channels per group
  int64_t K;                 // Cg_in·KH·KW: the length of one output element's dot product
  int sh, sw, ph, pw;        // strides and zero padding
  bool pointwise() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
  bool depthwise() const { return G == Cin && G == Cout; }
  // One input channel per group and M = Cout / Cin filters on each (depthwise with a channel
  // multiplier; M = 1 is depthwise()).
  bool channelwise() const { return G == Cin && Cout % Cin == 0; }
  int64_t mult() const { return Cout / Cin; }
};

inline ConvGeometry conv_geometry(const Tensor& x, const Tensor& w, const Tensor& y,
                                  const Conv2dParams& p) {
  ConvGeometry g;
  g.N = x.size(0), g.Cin = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.Cout = w.size(0), g.KH = w.size(2), g.KW = w.size(3);
  g.OH = y.size(2), g.OW = y.size(3);
  g.G = p.groups, g.Cg_in = g.Cin / g.G, g.Cg_out = g.Cout / g.G, g.K = g.Cg_in * g.KH * g.KW;
  g.sh = p.stride_h, g.sw = p.stride_w, g.ph = p.pad_h, g.pw = p.pad_w;
  return g;
}

// One output of a depthwise convolution, straight from the definition: acc plus the taps of the
// plane xp [H, W] under the kernel wp [KH, KW] that fall inside the image, for output (oh, ow).
// The CPU's reference loop and the CUDA kernel both compute each output with it.
template <class T>
HC_HOST_DEVICE inline T depthwise_output(const T* xp, const T* wp, const ConvGeometry& g, int64_t oh, int64_t ow,
                                         T acc) {
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    int64_t ih = oh * g.sh - g.ph + kh;
    if (ih < 0 || ih >= g.H) continue;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      int64_t iw = ow * g.sw - g.pw + kw;
      if (iw >= 0 && iw < g.W) acc += xp[ih * g.W + iw] * wp[kh * g.KW + kw];
    }
  }
  return acc;
}

// A tensor of shape s seen as [outer, s[dim], inner]: the products of the dims before and after.
inline void split_at(const Shape& s, int dim, int64_t& outer, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int d = 0; d < dim; ++d) outer *= s[d];
  for (size_t d = dim + 1; d < s.size(); ++d) inner *= s[d];
}

// Strides of a tensor of shape `in` in the coordinates of the broadcast shape `out` (numpy rules,
// right-aligned): 0 along dims that `in` lacks or has as 1.
inline std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  std::vector<int64_t> own = contiguous_strides(in);
  size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) st[lead + d] = in[d] == 1 ? 0 : own[d];
  return st;
}

}  // namespace hc
