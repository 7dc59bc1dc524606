#include "models/reparam.h"

#include <cmath>
#include <map>

#include "core/grad_mode.h"

namespace hc {

namespace {

// A convolution's weight [out, in_g, kh, kw] and bias [out] in double.
struct Kernel {
  int64_t out = 0, in_g = 0, kh = 0, kw = 0;
  std::vector<double> w, b;
  int64_t index(int64_t o, int64_t i, int64_t y, int64_t x) const { return ((o * in_g + i) * kh + y) * kw + x; }
};

Kernel zeros(int64_t out, int64_t in_g, int64_t kh, int64_t kw) {
  Kernel k;
  k.out = out, k.in_g = in_g, k.kh = kh, k.kw = kw;
  k.w.assign(out * in_g * kh * kw, 0.0);
  k.b.assign(out, 0.0);
  return k;
}

// A batch norm in evaluation mode as y = s·x + t per channel, with its generated γ, β.
struct Affine {
  std::vector<double> s, t;
};

Affine bn_affine(const BatchNorm2d& bn, const std::vector<double>& gen) {
  std::vector<double> gamma = bn.weight.to_vector(), beta = bn.bias.to_vector();
  std::vector<double> mu = bn.running_mean.to_vector(), var = bn.running_var.to_vector();
  const GeneratedNorm& g = bn.generated;
  if (!gen.empty() && g.offset >= 0) {
    HC_CHECK(g.offset + 2 * g.channels <= static_cast<int64_t>(gen.size()), "fold: ", gen.size(),
             " generated values, a batch norm needs offsets up to ", g.offset + 2 * g.channels);
    for (int64_t c = 0; c < g.channels; ++c) {
      gamma[c] += gen[g.offset + c];
      beta[c] += gen[g.offset + g.channels + c];
    }
  }
  Affine a;
  for (size_t c = 0; c < gamma.size(); ++c) {
    double s = gamma[c] / std::sqrt(var[c] + bn.eps);
    a.s.push_back(s);
    a.t.push_back(beta[c] - mu[c] * s);
  }
  return a;
}

// conv (no bias) then BN -> one conv with bias.
Kernel conv_bn(const ConvNorm& c, const std::vector<double>& gen) {
  const Tensor& w = c.conv->weight;
  Kernel k = zeros(w.size(0), w.size(1), w.size(2), w.size(3));
  k.w = w.to_vector();
  Affine a = bn_affine(*c.bn, gen);
  int64_t per = k.in_g * k.kh * k.kw;
  for (int64_t o = 0; o < k.out; ++o) {
    for (int64_t i = 0; i < per; ++i) k.w[o * per + i] *= a.s[o];
    k.b[o] = a.t[o];
  }
  return k;
}

// The identity of `channels` channels as a kh×kw convolution with `in_g` inputs per group: 1 at the
// centre tap of each channel's own input, scaled by s (bias t); s = 1, t = 0 without a BN.
Kernel identity_kernel(int64_t channels, int64_t in_g, int64_t kh, int64_t kw, const Affine* a) {
  Kernel k = zeros(channels, in_g, kh, kw);
  for (int64_t c = 0; c < channels; ++c) {
    k.w[k.index(c, c % in_g, kh / 2, kw / 2)] = a ? a->s[c] : 1.0;
    k.b[c] = a ? a->t[c] : 0.0;
  }
  return k;
}

// acc += k, k zero-padded (centred) to acc's kernel size.
void add_centred(Kernel& acc, const Kernel& k) {
  HC_CHECK(acc.out == k.out && acc.in_g == k.in_g && k.kh <= acc.kh && k.kw <= acc.kw &&
               (acc.kh - k.kh) % 2 == 0 && (acc.kw - k.kw) % 2 == 0,
           "fold: cannot add a ", k.kh, "x", k.kw, " kernel into a ", acc.kh, "x", acc.kw, " one");
  int64_t dy = (acc.kh - k.kh) / 2, dx = (acc.kw - k.kw) / 2;
  for (int64_t o = 0; o < k.out; ++o) {
    for (int64_t i = 0; i < k.in_g; ++i)
      for (int64_t y = 0; y < k.kh; ++y)
        for (int64_t x = 0; x < k.kw; ++x) acc.w[acc.index(o, i, y + dy, x + dx)] += k.w[k.index(o, i, y, x)];
    acc.b[o] += k.b[o];
  }
}

void write(Conv2d& dst, const Kernel& k) {
  HC_CHECK(dst.weight.shape() == Shape({k.out, k.in_g, k.kh, k.kw}) && dst.bias.defined(), "fold: kernel [", k.out,
           ", ", k.in_g, ", ", k.kh, ", ", k.kw, "] does not fit ", dst.weight.desc());
  dst.weight.copy_(Tensor::from_vector(k.w, dst.weight.shape(), DType::F64));
  dst.bias.copy_(Tensor::from_vector(k.b, dst.bias.shape(), DType::F64));
}

// The sum of a MobileOne block's branches as one kernel (its own kernel size).
Kernel mobileone_kernel(const MobileOneBlock& m, const std::vector<double>& gen) {
  const MobileOneSpec& s = m.spec;
  Kernel k = zeros(s.out, s.in / s.groups, s.kh, s.kw);
  if (m.conv_kxk)
    for (size_t i = 0; i < m.conv_kxk->size(); ++i) add_centred(k, conv_bn(*m.kxk(i), gen));
  if (m.conv_scale) add_centred(k, conv_bn(*m.conv_scale, gen));
  if (m.identity) {
    Affine a = bn_affine(*m.identity, gen);
    add_centred(k, identity_kernel(s.out, s.in / s.groups, s.kh, s.kw, &a));
  }
  return k;
}

void fold_mobileone(const MobileOneBlock& src, const std::vector<double>& gen, MobileOneBlock& dst) {
  HC_CHECK(!src.reparam_conv && dst.reparam_conv, "fold: expected a branch-form and a folded MobileOne block");
  write(*dst.reparam_conv, mobileone_kernel(src, gen));
}

// Linear or 1×1 conv weight [out, ...] and bias [out] scaled per output by ls.
void scale_rows(const Tensor& w, const Tensor& b, const std::vector<double>& ls, const Tensor& dst_w,
                const Tensor& dst_b) {
  std::vector<double> wv = w.to_vector(), bv = b.to_vector();
  int64_t out = w.size(0), per = w.numel() / out;
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < per; ++i) wv[o * per + i] *= ls[o];
    bv[o] *= ls[o];
  }
  dst_w.copy_(Tensor::from_vector(wv, dst_w.shape(), DType::F64));
  dst_b.copy_(Tensor::from_vector(bv, dst_b.shape(), DType::F64));
}

// ConvFFN: its BN into the depthwise conv, the block's layer scale ls into fc2.
void fold_conv_mlp(const ConvMlp& src, const std::vector<double>& ls, const std::vector<double>& gen, ConvMlp& dst) {
  write(*dst.conv->conv, conv_bn(*src.conv, gen));
  scale_rows(src.fc2->weight, src.fc2->bias, ls, dst.fc2->weight, dst.fc2->bias);
}

void fold_repmixer_block(const RepMixerBlock& src, const std::vector<double>& gen, RepMixerBlock& dst) {
  const RepMixer& rm = *src.token_mixer;
  Kernel mixer = mobileone_kernel(*rm.mixer, gen), norm = mobileone_kernel(*rm.norm, gen);
  std::vector<double> ls = rm.layer_scale->gamma.to_vector();
  Kernel k = identity_kernel(mixer.out, mixer.in_g, mixer.kh, mixer.kw, nullptr);
  for (int64_t o = 0; o < k.out; ++o) {
    int64_t per = k.in_g * k.kh * k.kw;
    for (int64_t i = 0; i < per; ++i) k.w[o * per + i] += ls[o] * (mixer.w[o * per + i] - norm.w[o * per + i]);
    k.b[o] = ls[o] * (mixer.b[o] - norm.b[o]);
  }
  write(*dst.token_mixer->reparam_conv, k);
  fold_conv_mlp(*src.mlp, src.layer_scale->gamma.to_vector(), gen, *dst.mlp);
}

void fold_attention_block(const AttentionBlock& src, const std::vector<double>& gen, AttentionBlock& dst) {
  // qkv(BN(x)) = W (s ⊙ x + t) = (W diag(s)) x + W t
  Affine a = bn_affine(*src.norm, gen);
  const Linear& qkv = *src.token_mixer->qkv;
  std::vector<double> w = qkv.weight.to_vector();
  std::vector<double> b = qkv.bias.defined() ? qkv.bias.to_vector() : std::vector<double>(qkv.weight.size(0), 0.0);
  int64_t rows = qkv.weight.size(0), C = qkv.weight.size(1);
  for (int64_t j = 0; j < rows; ++j)
    for (int64_t c = 0; c < C; ++c) {
      b[j] += w[j * C + c] * a.t[c];
      w[j * C + c] *= a.s[c];
    }
  const Linear& out_qkv = *dst.token_mixer->qkv;
  out_qkv.weight.copy_(Tensor::from_vector(w, out_qkv.weight.shape(), DType::F64));
  out_qkv.bias.copy_(Tensor::from_vector(b, out_qkv.bias.shape(), DType::F64));
  const Linear& proj = *src.token_mixer->proj;
  scale_rows(proj.weight, proj.bias, src.layer_scale_1->gamma.to_vector(), dst.token_mixer->proj->weight,
             dst.token_mixer->proj->bias);
  fold_conv_mlp(*src.mlp, src.layer_scale_2->gamma.to_vector(), gen, *dst.mlp);
}

// Every tensor of dst that src has under the same name and shape, copied.
void copy_matching(const Module& src, const Module& dst) {
  std::map<std::string, Tensor> from;
  for (auto& [name, t] : src.state_dict()) from[name] = t;
  for (auto& [name, t] : dst.state_dict()) {
    auto it = from.find(name);
    if (it != from.end() && it->second.shape() == t.shape()) t.copy_(it->second.to(t.device()));
  }
}

}  // namespace

void fold_mci(MciTower& trained, const std::vector<double>& gen, MciTower& folded) {
  NoGradGuard ng;
  HC_CHECK(trained.stages->size() == folded.stages->size() && !folded.final_conv->conv_kxk && trained.final_conv->conv_kxk,
           "fold: expected a branch-form and a folded MCi tower of one configuration");
  copy_matching(trained, folded);  // SE, the attention's proj and fc1 where not rewritten below, head
  for (size_t i = 0; i < trained.stem->size(); ++i) fold_mobileone(*trained.stem_block(i), gen, *folded.stem_block(i));
  for (size_t i = 0; i < trained.stages->size(); ++i) {
    const FastVitStage &src = *trained.stage(i), &dst = *folded.stage(i);
    if (src.downsample) {
      const ReparamLargeKernelConv &lk = *src.downsample->large(), &out = *dst.downsample->large();
      Kernel k = conv_bn(*lk.large_conv, gen);
      add_centred(k, conv_bn(*lk.small_conv, gen));
      write(*out.reparam_conv, k);
      fold_mobileone(*src.downsample->pointwise(), gen, *dst.downsample->pointwise());
    }
    if (src.pos_emb) {
      const Conv2d& pe = *src.pos_emb->pos_enc;
      Kernel k = identity_kernel(pe.weight.size(0), pe.weight.size(1), pe.weight.size(2), pe.weight.size(3), nullptr);
      std::vector<double> w = pe.weight.to_vector(), b = pe.bias.to_vector();
      for (size_t j = 0; j < w.size(); ++j) k.w[j] += w[j];
      k.b = b;
      write(*dst.pos_emb->reparam_conv, k);
    }
    for (size_t j = 0; j < src.blocks->size(); ++j) {
      if (src.attention) fold_attention_block(*src.blocks->at<AttentionBlock>(j), gen, *dst.blocks->at<AttentionBlock>(j));
      else fold_repmixer_block(*src.blocks->at<RepMixerBlock>(j), gen, *dst.blocks->at<RepMixerBlock>(j));
    }
  }
  fold_mobileone(*trained.final_conv, gen, *folded.final_conv);
}

void fold_text(const TextTower& trained, TextTower& folded) {
  NoGradGuard ng;
  HC_CHECK(trained.blocks->size() == folded.blocks->size(), "fold: text towers of different depths");
  copy_matching(trained, folded);
  for (size_t i = 0; i < trained.blocks->size(); ++i)
    if (auto src = trained.blocks->at<RepMixerBlock>(i)) {
      auto dst = folded.blocks->at<RepMixerBlock>(i);
      HC_CHECK(dst && !dst->layer_scale, "fold: expected a folded Text-RepMixer block at blocks.", i);
      fold_repmixer_block(*src, {}, *dst);
    }
}

}  // namespace hc
