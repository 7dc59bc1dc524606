// MobileCLIP's reparameterisable building blocks (SPEC 2.1), shared by the MCi image towers
// (models/mci.h) and the Text-RepMixer (models/text.h). Parameter names are timm's fastvit.py names
// (docs/model.md), so a public MCi checkpoint maps 1:1.
//
// Every block exists in two forms. The branch form (folded = false) is what trains: several
// conv-BN branches and BN identity branches summed. The folded form (folded = true) is what export
// writes (models/reparam.h computes it): each block one convolution with bias, with every batch
// norm, branch and layer scale absorbed. Both forms share a class so that the folded tower has the
// same module tree and forward code, without the batch norms.
#pragma once
#include <memory>

#include "models/layers.h"

namespace hc {

// Conv then BN, no activation (timm's ConvNormAct with apply_act=False): names "conv", "bn". Folded:
// the conv has a bias and there is no "bn".
class ConvNorm : public Module {
 public:
  ConvNorm(int64_t in, int64_t out, int kh, int kw, const Conv2dParams& p, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;  // null when folded
};

// timm's SEModule (its SqueezeExcite): global average pool, 1×1 conv C→r with bias ("fc1"), ReLU,
// 1×1 conv r→C with bias ("fc2"), sigmoid, scale.
class SEModule : public Module {
 public:
  SEModule(int64_t channels, int64_t reduced);
  Tensor forward(const Tensor& x) const;
  std::shared_ptr<Conv2d> fc1, fc2;
};

// timm's LayerScale2d: one parameter "gamma" [C, 1, 1], x ⊙ gamma.
class LayerScale2d : public Module {
 public:
  LayerScale2d(int64_t channels, double init = 1e-5);
  Tensor forward(const Tensor& x) const { return mul(x, gamma); }
  Tensor gamma;
};

// A MobileOne block's shape and options (SPEC 2.1). Padding is kh/2 × kw/2.
struct MobileOneSpec {
  int64_t in = 0, out = 0;
  int kh = 3, kw = 3;
  int stride = 1;
  int64_t groups = 1;
  bool se = false;            // MobileOne SE (C → C/16) after the branches
  bool act = true;            // GELU at the end
  bool scale_branch = true;   // a 1×1 conv-BN branch when the kernel is larger than 1×1 in both axes
  int conv_branches = 1;      // 0: no k×k conv-BN branch (RepMixer's "norm": the identity BN alone)
  bool has_identity() const { return in == out && stride == 1; }
  bool has_scale() const { return scale_branch && kh > 1 && kw > 1; }
};

// MobileOne block. Branch form, names in timm's module order: "se" (SEModule, optional),
// "identity" (BN, when in == out and stride 1), "conv_kxk.0" (ConvNorm), "conv_scale" (ConvNorm
// 1×1). Folded: "se" and "reparam_conv" (conv with bias). forward = act(se(sum of the branches)).
class MobileOneBlock : public Module {
 public:
  MobileOneBlock(const MobileOneSpec& spec, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  // The branches' sum (or the folded conv): forward without SE and activation.
  Tensor branches(const Tensor& x, const Generated* gen) const;
  MobileOneSpec spec;
  std::shared_ptr<SEModule> se;             // null without SE
  std::shared_ptr<BatchNorm2d> identity;    // branch form, null when absent
  std::shared_ptr<ModuleList> conv_kxk;     // branch form: of ConvNorm; null with 0 branches
  std::shared_ptr<ConvNorm> conv_scale;     // branch form, null when absent
  std::shared_ptr<Conv2d> reparam_conv;     // folded form
  Conv2dParams params() const;  // stride and padding kh/2 × kw/2 of the k×k branch
  std::shared_ptr<ConvNorm> kxk(size_t i) const { return conv_kxk->at<ConvNorm>(i); }
};

// RepMixer token mixer on [N, C, H, W], depthwise: x + layer_scale ⊙ (mixer(x) − norm(x)), mixer a
// MobileOne block without activation (k×k conv-BN, 1×1 conv-BN when the kernel is larger than 1×1
// in both axes, identity BN), norm its identity BN alone. Names "norm", "mixer", "layer_scale.gamma"; folded:
// "reparam_conv", one depthwise conv with bias.
class RepMixer : public Module {
 public:
  RepMixer(int64_t dim, int kh, int kw, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<MobileOneBlock> norm, mixer;
  std::shared_ptr<LayerScale2d> layer_scale;
  std::shared_ptr<Conv2d> reparam_conv;
};

// ConvFFN (timm's ConvMlp): depthwise kh×kw conv-BN ("conv"), 1×1 conv C→hidden with bias ("fc1"),
// GELU, 1×1 conv hidden→C with bias ("fc2"). Folded: "conv" is a conv with bias; the block's layer
// scale is multiplied into fc2.
class ConvMlp : public Module {
 public:
  ConvMlp(int64_t dim, int64_t hidden, int kh, int kw, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<ConvNorm> conv;
  std::shared_ptr<Conv2d> fc1, fc2;
};

// The depthwise kernels of a RepMixer block: MCi's image blocks mix with 3×3 and have a 7×7 ConvFFN;
// the Text-RepMixer uses 1×11 for both (a sequence seen as a 1×T image).
struct RepMixerKernels {
  int mixer_h = 3, mixer_w = 3, ffn_h = 7, ffn_w = 7;
};

// RepMixer block: x ← token_mixer(x); x ← x + layer_scale ⊙ mlp(x). Names "token_mixer", "mlp",
// "layer_scale.gamma" (folded: no layer scale, it lives in mlp.fc2).
class RepMixerBlock : public Module {
 public:
  RepMixerBlock(int64_t dim, const RepMixerKernels& kernels, int64_t mlp_ratio, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<RepMixer> token_mixer;
  std::shared_ptr<ConvMlp> mlp;
  std::shared_ptr<LayerScale2d> layer_scale;  // null when folded
};

// timm's make_divisible(v, 8) with round_limit 0: the channel count of a squeeze-excitation that
// reduces C to C·ratio: max(8, floor((v + 4) / 8) · 8).
int64_t make_divisible8(double v);

}  // namespace hc
