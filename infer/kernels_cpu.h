// Fused float32 CPU kernels of the inference runtime (infer/runtime.h). No tape, no tensors: raw
// buffers whose shapes are in the comments. Activations are channels-last (NHWC, a ViT's tokens
// [L, D] are the same thing), so that a 1x1 convolution is one GEMM over every pixel of every image
// and the depthwise convolution vectorises over channels.
//
// Every kernel does a slice of the work given by a half-open range, and none of them starts threads:
// the runtime decides, per layer, whether to run a kernel whole on one thread or split it.
//
// infer/kernels_reference.cpp has a plain loop version of each fused kernel (namespace ref), which
// tests/test_runtime.cpp checks them against.
#pragma once
#include <cstdint>

namespace hc::infer {

enum class Act { None, SiLU, GELU, ReLU };

// y = act(y) in place, n values. SiLU: x·σ(x). GELU: the erf form, 0.5·x·(1 + erf(x/√2)). ReLU: max(x, 0).
void activate(float* y, int64_t n, Act act);

// ---- linear (also a 1x1 convolution over channels-last pixels) -------------------------------
// x [M, in] (row stride in), w [out, in], b [out] or null, y [M, out].
// residual null:      y = act(x·wᵀ + b)
// residual == y:      y += x·wᵀ + b           (act must be None: the transformer's residual stream)
// residual elsewhere: y = x·wᵀ + b + residual (act must be None: an MBConv's skip connection)
// Rows [m0, m1) only.
void linear_fused(const float* x, const float* w, const float* b, const float* residual, float* y, int64_t in,
                  int64_t out, Act act, int64_t m0, int64_t m1);

// ---- convolution of an NCHW image into channels-last output (the stem, a ViT's patches) --------
struct ConvGeom {
  int64_t Cin, H, W, Cout, K, stride, pad, OH, OW;
  int64_t patch() const { return Cin * K * K; }  // one output pixel's inputs, ordered (c, kh, kw)
};
// x [Cin, H, W] (one image), w [Cout, Cin·K·K], b [Cout], add [OH·OW, Cout] or null (added after
// the activation: a ViT's position embedding), y [OH·OW, Cout].
// col: scratch of (p1 − p0)·Cin·K·K floats. Output pixels [p0, p1) only.
void conv2d_fused(const float* x, const ConvGeom& g, const float* w, const float* b, const float* add, Act act,
                  float* y, float* col, int64_t p0, int64_t p1);

// ---- depthwise convolution, channels-last ----------------------------------------------------
// mult: output channels per input channel (PyTorch's groups = C with C·mult outputs, MCi's
// downsampling and head convs have 2); output channel o reads input channel o / mult.
struct DepthwiseGeom {
  int64_t C, H, W, K, stride, pad, OH, OW;
  int64_t mult = 1;
  int64_t out_channels() const { return C * mult; }
};
// x [H, W, C] (one image), w [K·K, C·mult] (tap-major: the runtime transposes PyTorch's
// [C·mult, 1, K, K]), b [C·mult], y [OH, OW, C·mult] = act(dwconv(x) + b). Output rows [oh0, oh1) only.
void depthwise_conv2d_fused(const float* x, const DepthwiseGeom& g, const float* w, const float* b, Act act,
                            float* y, int64_t oh0, int64_t oh1);

// ---- squeeze-excitation, in place on one image -----------------------------------------------
// x [HW, C]; w1 [R, C], b1 [R]; w2 [C, R], b2 [C]; scratch of C + R floats.
// s = σ(w2·inner(w1·mean_hw(x) + b1) + b2); x[p, c] = out(x[p, c]·s[c]). The ConvNet's SE has inner
// SiLU and no out; MCi's (timm's SEModule) inner ReLU, followed by its block's GELU as out.
void squeeze_excite(float* x, int64_t HW, int64_t C, const float* w1, const float* b1, const float* w2,
                    const float* b2, int64_t R, float* scratch, Act inner = Act::SiLU, Act out = Act::None);

// ---- pooling and normalisation -----------------------------------------------------------------
// x [n, P, C] -> y [n, C], the mean over P (a ConvNet's pixels or a ViT's tokens).
void mean_rows(const float* x, int64_t n, int64_t P, int64_t C, float* y);
// Layer norm over the last dim: x [M, D] -> y [M, D] = (x − μ)/√(σ² + eps)·γ + β. Rows [m0, m1).
void layer_norm_rows(const float* x, const float* gamma, const float* beta, int64_t D, double eps, float* y,
                     int64_t m0, int64_t m1);
// v [n, E] L2-normalised in place (eps as ops' l2_normalize: max(‖v‖, 1e-12)).
void l2_normalize_rows(float* v, int64_t n, int64_t E);

// ---- attention for inference (no causal mask, no saved probabilities) --------------------------
// qkv [L, 3D] of one image (q, k, v each [L, heads, dh] within a row), o [L, D]; scores scratch of
// (q1 − q0)·L floats. o[i, h] = softmax_j(q_i·k_j/√dh) v_j per head h. Query rows [q0, q1) only.
void attention_fused(const float* qkv, int64_t L, int64_t D, int64_t heads, float* o, float* scores, int64_t q0,
                     int64_t q1);

// Plain loop versions of the kernels above, same arguments, whole ranges (the test's reference).
namespace ref {
void linear(const float* x, const float* w, const float* b, const float* residual, float* y, int64_t M, int64_t in,
            int64_t out, Act act);
void conv2d(const float* x, const ConvGeom& g, const float* w, const float* b, const float* add, Act act, float* y);
void depthwise_conv2d(const float* x, const DepthwiseGeom& g, const float* w, const float* b, Act act, float* y);
void squeeze_excite(float* x, int64_t HW, int64_t C, const float* w1, const float* b1, const float* w2,
                    const float* b2, int64_t R, Act inner = Act::SiLU, Act out = Act::None);
void layer_norm(const float* x, const float* gamma, const float* beta, int64_t M, int64_t D, double eps, float* y);
void attention(const float* qkv, int64_t L, int64_t D, int64_t heads, float* o);
}  // namespace ref

}  // namespace hc::infer
