#include "models/mci.h"

namespace hc {

// ---- downsampling --------------------------------------------------------------------------------

ReparamLargeKernelConv::ReparamLargeKernelConv(int64_t in, int64_t out, int kernel_, int stride, int small_kernel_,
                                               bool with_se, bool folded)
    : kernel(kernel_), small_kernel(small_kernel_) {
  auto params = [&](int k) {
    Conv2dParams p;
    p.stride_h = p.stride_w = stride;
    p.pad_h = p.pad_w = k / 2;
    p.groups = static_cast<int>(in);
    return p;
  };
  if (folded) {
    reparam_conv = register_module("reparam_conv", std::make_shared<Conv2d>(in, out, kernel, kernel, params(kernel), true));
  } else {
    large_conv = register_module("large_conv", std::make_shared<ConvNorm>(in, out, kernel, kernel, params(kernel), false));
    small_conv = register_module("small_conv",
                                 std::make_shared<ConvNorm>(in, out, small_kernel, small_kernel, params(small_kernel), false));
  }
  // timm: SqueezeExcite(out, rd_ratio 0.25), channels rounded to a multiple of 8.
  if (with_se) se = register_module("se", std::make_shared<SEModule>(out, make_divisible8(out * 0.25)));
}

Tensor ReparamLargeKernelConv::forward(const Tensor& x, const Generated* gen) const {
  Tensor y = reparam_conv ? reparam_conv->forward(x) : add(large_conv->forward(x, gen), small_conv->forward(x, gen));
  if (se) y = se->forward(y);
  return gelu(y);
}

PatchEmbed::PatchEmbed(int64_t in, int64_t out, bool se, bool folded) {
  proj = register_module("proj", std::make_shared<ModuleList>());
  proj->append(std::make_shared<ReparamLargeKernelConv>(in, out, 7, 2, 3, se, folded));
  MobileOneSpec s;
  s.in = s.out = out;
  s.kh = s.kw = 1;
  proj->append(std::make_shared<MobileOneBlock>(s, folded));
}

Tensor PatchEmbed::forward(const Tensor& x, const Generated* gen) const {
  return pointwise()->forward(large()->forward(x, gen), gen);
}

RepConditionalPosEnc::RepConditionalPosEnc(int64_t dim, int kernel, bool folded) {
  auto conv = std::make_shared<Conv2d>(dim, dim, kernel, 1, kernel / 2, static_cast<int>(dim), true);
  if (folded) reparam_conv = register_module("reparam_conv", conv);
  else pos_enc = register_module("pos_enc", conv);
}

Tensor RepConditionalPosEnc::forward(const Tensor& x) const {
  return reparam_conv ? reparam_conv->forward(x) : add(pos_enc->forward(x), x);
}

// ---- attention block -------------------------------------------------------------------------------

AttentionBlock::AttentionBlock(int64_t dim, int64_t mlp_ratio, bool folded) {
  HC_CHECK(dim % 32 == 0, "MCi attention block: width ", dim, " is not a multiple of the head size 32");
  if (!folded) norm = register_module("norm", std::make_shared<BatchNorm2d>(dim));
  token_mixer = register_module("token_mixer", std::make_shared<MultiheadAttention>(dim, dim / 32, folded));
  if (!folded) layer_scale_1 = register_module("layer_scale_1", std::make_shared<LayerScale2d>(dim));
  mlp = register_module("mlp", std::make_shared<ConvMlp>(dim, dim * mlp_ratio, 7, 7, folded));
  if (!folded) layer_scale_2 = register_module("layer_scale_2", std::make_shared<LayerScale2d>(dim));
}

Tensor AttentionBlock::forward(const Tensor& x, const Generated* gen) const {
  int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Tensor h = norm ? norm->forward(x, gen) : x;
  Tensor tokens = transpose(reshape(h, {N, C, H * W}), 1, 2);                       // [N, HW, C]
  Tensor a = reshape(transpose(token_mixer->forward(tokens, false), 1, 2), {N, C, H, W});
  Tensor y = add(x, layer_scale_1 ? layer_scale_1->forward(a) : a);
  Tensor f = mlp->forward(y, gen);
  return add(y, layer_scale_2 ? layer_scale_2->forward(f) : f);
}

// ---- stages and tower --------------------------------------------------------------------------------

FastVitStage::FastVitStage(int64_t in, int64_t out, int64_t depth, bool attention_, bool with_downsample,
                           bool se_downsample, bool with_pos_emb, int64_t mlp_ratio, bool folded)
    : attention(attention_) {
  HC_CHECK(with_downsample || in == out, "MCi stage without downsampling changes the width ", in, " -> ", out);
  if (with_downsample) downsample = register_module("downsample", std::make_shared<PatchEmbed>(in, out, se_downsample, folded));
  if (with_pos_emb) pos_emb = register_module("pos_emb", std::make_shared<RepConditionalPosEnc>(out, 7, folded));
  blocks = register_module("blocks", std::make_shared<ModuleList>());
  for (int64_t j = 0; j < depth; ++j) {
    if (attention) blocks->append(std::make_shared<AttentionBlock>(out, mlp_ratio, folded));
    else blocks->append(std::make_shared<RepMixerBlock>(out, RepMixerKernels{}, mlp_ratio, folded));
  }
}

Tensor FastVitStage::forward(const Tensor& x, const Generated* gen) const {
  Tensor y = downsample ? downsample->forward(x, gen) : x;
  if (pos_emb) y = pos_emb->forward(y);
  for (size_t j = 0; j < blocks->size(); ++j)
    y = attention ? blocks->at<AttentionBlock>(j)->forward(y, gen) : blocks->at<RepMixerBlock>(j)->forward(y, gen);
  return y;
}

ProjectionHead::ProjectionHead(int64_t in, int64_t embed) {
  fc = register_module("fc", std::make_shared<Linear>(in, embed, false));
}

MciTower::MciTower(const MciConfig& c, int64_t embed, bool folded) : cfg(c) {
  HC_CHECK(c.widths.size() == 4 && c.depths.size() == 4, "MCi tower: four stages expected, got ", c.widths.size(),
           " widths and ", c.depths.size(), " depths");
  const int64_t C0 = c.widths[0];
  stem = register_module("stem", std::make_shared<ModuleList>());
  MobileOneSpec s;  // 3×3 stride 2 dense, 3×3 stride 2 depthwise, 1×1
  s.in = 3, s.out = C0, s.stride = 2;
  stem->append(std::make_shared<MobileOneBlock>(s, folded));
  s.in = C0, s.groups = C0;
  stem->append(std::make_shared<MobileOneBlock>(s, folded));
  s.kh = s.kw = 1, s.stride = 1, s.groups = 1;
  stem->append(std::make_shared<MobileOneBlock>(s, folded));
  stages = register_module("stages", std::make_shared<ModuleList>());
  int64_t prev = C0;
  for (int i = 0; i < 4; ++i) {
    // SE on the downsampling into the third and fourth stage; RepCPE and attention in the last.
    stages->append(std::make_shared<FastVitStage>(prev, c.widths[i], c.depths[i], i == 3, i > 0, i >= 2, i == 3,
                                                  c.mlp_ratio, folded));
    prev = c.widths[i];
  }
  MobileOneSpec f;  // depthwise 3×3 C3 → 2·C3 (two outputs per channel), MobileOne SE, GELU
  f.in = prev, f.out = 2 * prev, f.groups = prev, f.se = true;
  final_conv = register_module("final_conv", std::make_shared<MobileOneBlock>(f, folded));
  head = register_module("head", std::make_shared<ProjectionHead>(2 * prev, embed));
}

Tensor MciTower::forward(const Tensor& images, const Generated* gen) const {
  Tensor x = images;
  for (size_t i = 0; i < stem->size(); ++i) x = stem_block(i)->forward(x, gen);
  for (size_t i = 0; i < stages->size(); ++i) x = stage(i)->forward(x, gen);
  x = final_conv->forward(x, gen);
  return head->fc->forward(global_avg_pool(x));
}

std::vector<BatchNorm2d*> MciTower::batch_norms() {
  std::vector<BatchNorm2d*> out;
  for (Module* m : modules())
    if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) out.push_back(bn);
  return out;
}

std::vector<GeneratedNorm*> MciTower::generated_norms() {
  std::vector<GeneratedNorm*> out;
  for (BatchNorm2d* bn : batch_norms()) out.push_back(&bn->generated);
  return out;
}

}  // namespace hc
