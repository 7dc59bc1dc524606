// The ViT image tower (SPEC 1.2), names as docs/model.md.
#pragma once
#include "models/config.h"
#include "models/image_tower.h"

namespace hc {

class VitTower : public ImageTower {
 public:
  VitTower(const VitConfig& cfg, int64_t image_size, int64_t embed);
  Tensor forward(const Tensor& images, const Generated* gen) const override;
  std::vector<GeneratedNorm*> generated_norms() override;

  std::shared_ptr<Conv2d> patch_embed;
  Tensor pos_embed;  // [P, D]
  std::shared_ptr<ModuleList> blocks;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> proj;
  int64_t dim, num_patches;
};

}  // namespace hc
