// conv2d: 2-D convolution with stride, zero padding (each per axis) and groups (depthwise when
// groups == Cin).
#include "core/flops.h"
#include "core/tape.h"
#include "ops/kernel_shapes.h"
#include "ops/ops.h"

namespace hc {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int padding,
              int groups) {
  Conv2dParams p;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = padding;
  p.groups = groups;
  return conv2d(x, weight, bias, p);
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  check_same_float("conv2d", {x, weight, bias});
  check_rank("conv2d", "input", x, 4);
  check_rank("conv2d", "weight", weight, 4);
  HC_CHECK(p.stride_h >= 1 && p.stride_w >= 1 && p.pad_h >= 0 && p.pad_w >= 0 && p.groups >= 1,
           "conv2d: bad stride ", p.stride_h, "x", p.stride_w, ", padding ", p.pad_h, "x", p.pad_w,
           " or groups ", p.groups);
  const int groups = p.groups;
  int64_t N = x.size(0), Cin = x.size(1), H = x.size(2), W = x.size(3);
  int64_t Cout = weight.size(0), KH = weight.size(2), KW = weight.size(3);
  HC_CHECK(Cin % groups == 0 && Cout % groups == 0, "conv2d: channels ", Cin, " -> ", Cout,
           " not divisible by groups ", groups);
  HC_CHECK(weight.size(1) == Cin / groups, "conv2d: weight ", weight.desc(), " does not fit input ",
           x.desc(), " with groups ", groups, " (expected ", Cin / groups, " input channels per group)");
  HC_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == Cout), "conv2d: bias ", bias.desc(),
           " for ", Cout, " output channels");
  int64_t OH = conv_out_size(H, KH, p.stride_h, p.pad_h), OW = conv_out_size(W, KW, p.stride_w, p.pad_w);
  HC_CHECK(H + 2 * p.pad_h >= KH && W + 2 * p.pad_w >= KW && OH > 0 && OW > 0, "conv2d: kernel ",
           KH, "x", KW, " larger than the padded input ", x.desc());
  Tensor y = empty_like_shape(x, {N, Cout, OH, OW});
  // Each output element is a dot product over Cin/groups·KH·KW inputs.
  count_flops(2.0 * N * Cout * OH * OW * (Cin / groups) * KH * KW);
  x.backend().conv2d(x, weight, bias, p, y);
  // The kinds are named apart so that a profile (core/profile.h) tells them apart.
  const char* kind = groups > 1 ? "conv2d_grouped" : (KH == 1 && KW == 1 ? "conv2d_1x1" : "conv2d");
  return record(kind, y, {x, weight, bias}, {x, weight},
                [p](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &x = n.saved[0], &w = n.saved[1];
                  Tensor dx, dw, db;
                  if (needs[0]) dx = empty_like_shape(x, x.shape());
                  if (needs[1]) dw = empty_like_shape(w, w.shape());
                  if (needs[2]) db = empty_like_shape(w, {w.size(0)});
                  x.backend().conv2d_backward(x, w, g, p, needs[0] ? &dx : nullptr,
                                              needs[1] ? &dw : nullptr, needs[2] ? &db : nullptr);
                  return std::vector<Tensor>{dx, dw, db};
                });
}

}  // namespace hc
