#include "models/mobileone.h"

#include <cmath>

namespace hc {

int64_t make_divisible8(double v) {
  return std::max<int64_t>(8, static_cast<int64_t>(v + 4) / 8 * 8);
}

// On pooled [N, C] features a 1×1 conv is a linear layer with the weight viewed as [out, in].
static Tensor pointwise_on_pooled(const Conv2d& c, const Tensor& v) {
  return linear(v, reshape(c.weight, {c.weight.size(0), c.weight.size(1)}), c.bias);
}

static Conv2dParams conv_params(int kh, int kw, int stride, int64_t groups) {
  Conv2dParams p;
  p.stride_h = p.stride_w = stride;
  p.pad_h = kh / 2;
  p.pad_w = kw / 2;
  p.groups = static_cast<int>(groups);
  return p;
}

ConvNorm::ConvNorm(int64_t in, int64_t out, int kh, int kw, const Conv2dParams& p, bool folded) {
  conv = register_module("conv", std::make_shared<Conv2d>(in, out, kh, kw, p, folded));
  if (!folded) bn = register_module("bn", std::make_shared<BatchNorm2d>(out));
}

Tensor ConvNorm::forward(const Tensor& x, const Generated* gen) const {
  Tensor y = conv->forward(x);
  return bn ? bn->forward(y, gen) : y;
}

SEModule::SEModule(int64_t channels, int64_t reduced) {
  fc1 = register_module("fc1", std::make_shared<Conv2d>(channels, reduced, 1, 1, 0, 1, true));
  fc2 = register_module("fc2", std::make_shared<Conv2d>(reduced, channels, 1, 1, 0, 1, true));
}

Tensor SEModule::forward(const Tensor& x) const {
  Tensor s = global_avg_pool(x);                                                       // [N, C]
  s = sigmoid(pointwise_on_pooled(*fc2, relu(pointwise_on_pooled(*fc1, s))));          // [N, C]
  return mul(x, reshape(s, {s.size(0), s.size(1), 1, 1}));
}

LayerScale2d::LayerScale2d(int64_t channels, double init) {
  gamma = register_parameter("gamma", Tensor::full({channels, 1, 1}, init));
}

Conv2dParams MobileOneBlock::params() const { return conv_params(spec.kh, spec.kw, spec.stride, spec.groups); }

MobileOneBlock::MobileOneBlock(const MobileOneSpec& s, bool folded) : spec(s) {
  HC_CHECK(s.in % s.groups == 0 && s.out % s.groups == 0, "MobileOne block: channels ", s.in, " -> ", s.out,
           " not divisible by groups ", s.groups);
  // timm's MobileOneBlock: SqueezeExcite(out, rd_ratio 1/16, rd_divisor 1), i.e. round(C/16).
  if (s.se) se = register_module("se", std::make_shared<SEModule>(s.out, std::max<int64_t>(1, std::llround(s.out / 16.0))));
  Conv2dParams p = params();
  if (folded) {
    reparam_conv = register_module("reparam_conv", std::make_shared<Conv2d>(s.in, s.out, s.kh, s.kw, p, true));
    return;
  }
  if (s.has_identity()) identity = register_module("identity", std::make_shared<BatchNorm2d>(s.in));
  if (s.conv_branches > 0) {
    conv_kxk = register_module("conv_kxk", std::make_shared<ModuleList>());
    for (int i = 0; i < s.conv_branches; ++i) conv_kxk->append(std::make_shared<ConvNorm>(s.in, s.out, s.kh, s.kw, p, false));
  }
  if (s.has_scale())
    conv_scale = register_module("conv_scale", std::make_shared<ConvNorm>(s.in, s.out, 1, 1, conv_params(1, 1, s.stride, s.groups), false));
}

Tensor MobileOneBlock::branches(const Tensor& x, const Generated* gen) const {
  if (reparam_conv) return reparam_conv->forward(x);
  Tensor out;
  auto accumulate = [&](const Tensor& t) { out = out.defined() ? add(out, t) : t; };
  // Summed in timm's order: scale, identity, then the k×k branches.
  if (conv_scale) accumulate(conv_scale->forward(x, gen));
  if (identity) accumulate(identity->forward(x, gen));
  if (conv_kxk)
    for (size_t i = 0; i < conv_kxk->size(); ++i) accumulate(kxk(i)->forward(x, gen));
  HC_CHECK(out.defined(), "MobileOne block without any branch");
  return out;
}

Tensor MobileOneBlock::forward(const Tensor& x, const Generated* gen) const {
  Tensor y = branches(x, gen);
  if (se) y = se->forward(y);
  return spec.act ? gelu(y) : y;
}

RepMixer::RepMixer(int64_t dim, int kh, int kw, bool folded) {
  MobileOneSpec s;
  s.in = s.out = dim;
  s.kh = kh, s.kw = kw;
  s.groups = dim;
  s.act = false;
  if (folded) {
    reparam_conv = register_module("reparam_conv", std::make_shared<Conv2d>(dim, dim, kh, kw, conv_params(kh, kw, 1, dim), true));
    return;
  }
  MobileOneSpec n = s;
  n.scale_branch = false;
  n.conv_branches = 0;
  norm = register_module("norm", std::make_shared<MobileOneBlock>(n, false));
  mixer = register_module("mixer", std::make_shared<MobileOneBlock>(s, false));
  layer_scale = register_module("layer_scale", std::make_shared<LayerScale2d>(dim));
}

Tensor RepMixer::forward(const Tensor& x, const Generated* gen) const {
  if (reparam_conv) return reparam_conv->forward(x);
  return add(x, layer_scale->forward(sub(mixer->forward(x, gen), norm->forward(x, gen))));
}

ConvMlp::ConvMlp(int64_t dim, int64_t hidden, int kh, int kw, bool folded) {
  conv = register_module("conv", std::make_shared<ConvNorm>(dim, dim, kh, kw, conv_params(kh, kw, 1, dim), folded));
  fc1 = register_module("fc1", std::make_shared<Conv2d>(dim, hidden, 1, 1, 0, 1, true));
  fc2 = register_module("fc2", std::make_shared<Conv2d>(hidden, dim, 1, 1, 0, 1, true));
}

Tensor ConvMlp::forward(const Tensor& x, const Generated* gen) const {
  return fc2->forward(gelu(fc1->forward(conv->forward(x, gen))));
}

RepMixerBlock::RepMixerBlock(int64_t dim, const RepMixerKernels& k, int64_t mlp_ratio, bool folded) {
  token_mixer = register_module("token_mixer", std::make_shared<RepMixer>(dim, k.mixer_h, k.mixer_w, folded));
  mlp = register_module("mlp", std::make_shared<ConvMlp>(dim, dim * mlp_ratio, k.ffn_h, k.ffn_w, folded));
  if (!folded) layer_scale = register_module("layer_scale", std::make_shared<LayerScale2d>(dim));
}

Tensor RepMixerBlock::forward(const Tensor& x, const Generated* gen) const {
  Tensor h = token_mixer->forward(x, gen);
  Tensor f = mlp->forward(h, gen);
  return add(h, layer_scale ? layer_scale->forward(f) : f);
}

}  // namespace hc
