// The ConvNet image tower: EfficientNet topology (SPEC 1.1), names as docs/model.md.
#pragma once
#include <array>
#include <vector>

#include "models/config.h"
#include "models/image_tower.h"

namespace hc {

// SPEC 1.1, stages 1 to 7 (also read by models/config_check.cpp to size a configuration).
struct ConvNetStage {
  int kernel, stride, expand;
  int64_t channels, repeats;
};
extern const std::array<ConvNetStage, 7> kConvNetStages;

// SPEC 1.1's channel rounding: max(8, floor((v+4)/8)*8), plus 8 if below 0.9 v.
int64_t round8(double v);

// conv, BN, optional SiLU: names "conv", "bn". Folded (an exported classifier, SPEC 1.7): the BN
// is gone and the conv has a bias that absorbed it.
class ConvBnAct : public Module {
 public:
  ConvBnAct(int64_t in, int64_t out, int kernel, int stride, int groups, bool act, bool folded = false);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;  // null when folded
  bool act;
};

// Squeeze-excitation: names "reduce", "expand" (1×1 convs with bias, applied to pooled features).
class SqueezeExcite : public Module {
 public:
  SqueezeExcite(int64_t channels, int64_t reduced);
  Tensor forward(const Tensor& x) const;
  std::shared_ptr<Conv2d> reduce, expand;
};

class MBConv : public Module {
 public:
  MBConv(int64_t in, int64_t out, int kernel, int stride, int64_t expand_ratio, bool folded = false);
  Tensor forward(const Tensor& x, const Generated* gen) const;
  std::shared_ptr<ConvBnAct> expand;  // null when expand_ratio == 1
  std::shared_ptr<ConvBnAct> dw;
  std::shared_ptr<SqueezeExcite> se;
  std::shared_ptr<ConvBnAct> project;
  bool residual;
};

class ConvNetTower : public ImageTower {
 public:
  ConvNetTower(const ConvNetConfig& cfg, int64_t embed, bool folded = false);
  Tensor forward(const Tensor& images, const Generated* gen) const override;
  std::vector<GeneratedNorm*> generated_norms() override;
  std::vector<BatchNorm2d*> batch_norms() override;
  // Every conv-BN pair in module order (the order of generated_norms()).
  std::vector<ConvBnAct*> conv_bn_layers();

  std::shared_ptr<ConvBnAct> stem;
  std::shared_ptr<ModuleList> blocks;  // blocks.{stage}.{block}
  std::shared_ptr<ConvBnAct> head;
  std::shared_ptr<Linear> proj;
};

}  // namespace hc
