#include "models/vit.h"

namespace hc {

VitTower::VitTower(const VitConfig& cfg, int64_t image_size, int64_t embed) : dim(cfg.dim) {
  HC_CHECK(image_size % cfg.patch == 0, "ViT: image size ", image_size,
           " is not a multiple of the patch size ", cfg.patch);
  int64_t grid = image_size / cfg.patch;
  num_patches = grid * grid;
  patch_embed = register_module(
      "patch_embed", std::make_shared<Conv2d>(3, dim, static_cast<int>(cfg.patch),
                                              static_cast<int>(cfg.patch), 0, 1, true));
  pos_embed = register_parameter("pos_embed", Tensor::zeros({num_patches, dim}));
  blocks = register_module("blocks", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < cfg.depth; ++i) blocks->append(std::make_shared<TransformerBlock>(dim, cfg.heads));
  norm = register_module("norm", std::make_shared<LayerNorm>(dim));
  proj = register_module("proj", std::make_shared<Linear>(dim, embed, false));
}

Tensor VitTower::forward(const Tensor& images, const Generated* gen) const {
  int64_t N = images.size(0);
  Tensor x = patch_embed->forward(images);  // [N, D, gh, gw]
  HC_CHECK(x.size(2) * x.size(3) == num_patches, "ViT: images ", images.desc(), " give ",
           x.size(2) * x.size(3), " patches, the model expects ", num_patches);
  x = transpose(reshape(x, {N, dim, num_patches}), 1, 2);  // [N, P, D], patches row-major
  x = add(x, pos_embed);
  for (size_t i = 0; i < blocks->size(); ++i) x = blocks->at<TransformerBlock>(i)->forward(x, false, gen);
  x = norm->forward(x, gen);
  return proj->forward(mean(x, {1}));
}

std::vector<GeneratedNorm*> VitTower::generated_norms() {
  std::vector<GeneratedNorm*> out;
  for (size_t i = 0; i < blocks->size(); ++i) {
    auto b = blocks->at<TransformerBlock>(i);
    out.push_back(&b->norm1->generated);
    out.push_back(&b->norm2->generated);
  }
  out.push_back(&norm->generated);
  return out;
}

}  // namespace hc
