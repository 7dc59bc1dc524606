// MobileCLIP's MCi image towers (SPEC 2.1; apple/ml-mobileclip's mci.py, timm's fastvit_mci*):
// stride-4 MobileOne stem, four stages (RepMixer blocks, then attention blocks in the last) with
// large-kernel downsampling between them and a RepCPE before the last, the conv_exp head with SE,
// global average pooling and a projection without bias. Names below `visual.` are timm's
// (docs/model.md). folded = true builds the exported form (models/reparam.h).
#pragma once
#include <vector>

#include "models/config.h"
#include "models/image_tower.h"
#include "models/mobileone.h"

namespace hc {

// timm's ReparamLargeKernelConv, MCi's downsampling conv: C_in → C_out, groups C_in, stride 2, as the
// sum of a k×k conv-BN ("large_conv") and a 3×3 conv-BN ("small_conv"), then SE ("se", optional),
// then GELU. Folded: "reparam_conv" (k×k with bias) and "se".
class ReparamLargeKernelConv : public Module {
 public:
  ReparamLargeKernelConv(int64_t in, int64_t out, int kernel, int stride, int small_kernel, bool se, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<ConvNorm> large_conv, small_conv;  // branch form
  std::shared_ptr<Conv2d> reparam_conv;              // folded
  std::shared_ptr<SEModule> se;                      // null without SE
  int kernel, small_kernel;
};

// Downsampling between stages: "proj.0" the large-kernel conv, "proj.1" a MobileOne 1×1 C→C.
class PatchEmbed : public Module {
 public:
  PatchEmbed(int64_t in, int64_t out, bool se, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<ModuleList> proj;
  std::shared_ptr<ReparamLargeKernelConv> large() const { return proj->at<ReparamLargeKernelConv>(0); }
  std::shared_ptr<MobileOneBlock> pointwise() const { return proj->at<MobileOneBlock>(1); }
};

// RepCPE (timm's RepConditionalPosEnc): x + depthwise 7×7 conv with bias ("pos_enc"); folded:
// "reparam_conv" with the identity in its kernel.
class RepConditionalPosEnc : public Module {
 public:
  RepConditionalPosEnc(int64_t dim, int kernel, bool folded);
  Tensor forward(const Tensor& x) const;
  std::shared_ptr<Conv2d> pos_enc, reparam_conv;
};

// Attention block: x ← x + layer_scale_1 ⊙ MHSA(BN(x)); x ← x + layer_scale_2 ⊙ ConvFFN(x). MHSA over
// the H·W tokens, head dim 32, qkv without bias. Names "norm", "token_mixer.{qkv,proj}",
// "layer_scale_1.gamma", "mlp", "layer_scale_2.gamma". Folded: no norm (folded into the qkv
// projection, which gains a bias) and no layer scales (folded into token_mixer.proj and mlp.fc2).
class AttentionBlock : public Module {
 public:
  AttentionBlock(int64_t dim, int64_t mlp_ratio, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<BatchNorm2d> norm;
  std::shared_ptr<MultiheadAttention> token_mixer;
  std::shared_ptr<LayerScale2d> layer_scale_1, layer_scale_2;
  std::shared_ptr<ConvMlp> mlp;
};

// One stage: "downsample" (PatchEmbed, stages 1-3), "pos_emb.…" (RepCPE, the last stage), "blocks.{j}".
class FastVitStage : public Module {
 public:
  FastVitStage(int64_t in, int64_t out, int64_t depth, bool attention, bool downsample, bool se_downsample,
               bool pos_emb, int64_t mlp_ratio, bool folded);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<PatchEmbed> downsample;           // null in the first stage
  std::shared_ptr<RepConditionalPosEnc> pos_emb;    // the last stage only
  std::shared_ptr<ModuleList> blocks;               // RepMixerBlock or AttentionBlock
  bool attention;
};

// "head.fc.weight" [E, 2·C3]: timm's ClassifierHead with the CLIP projection (no bias).
class ProjectionHead : public Module {
 public:
  ProjectionHead(int64_t in, int64_t embed);
  std::shared_ptr<Linear> fc;
};

class MciTower : public ImageTower {
 public:
  MciTower(const MciConfig& cfg, int64_t embed, bool folded = false);
  Tensor forward(const Tensor& images, const Generated* gen) const override;
  // Every batch norm of the tower in module order (docs/model.md); a folded tower has none.
  std::vector<GeneratedNorm*> generated_norms() override;
  std::vector<BatchNorm2d*> batch_norms() override;

  std::shared_ptr<ModuleList> stem;    // three MobileOne blocks
  std::shared_ptr<ModuleList> stages;  // four FastVitStage
  std::shared_ptr<MobileOneBlock> final_conv;
  std::shared_ptr<ProjectionHead> head;
  MciConfig cfg;
  std::shared_ptr<MobileOneBlock> stem_block(size_t i) const { return stem->at<MobileOneBlock>(i); }
  std::shared_ptr<FastVitStage> stage(size_t i) const { return stages->at<FastVitStage>(i); }
};

}  // namespace hc
