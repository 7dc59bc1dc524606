// The image tower interface: both towers take images and, in hyper and token modes, the
// hypernetwork's output, and list their generated norm layers in order (docs/model.md).
#pragma once
#include <vector>

#include "core/module.h"
#include "models/layers.h"

namespace hc {

class ImageTower : public Module {
 public:
  // images [N, 3, H, W] -> features [N, E] (before L2 normalisation). gen may be null.
  virtual Tensor forward(const Tensor& images, const Generated* gen) const = 0;
  // The generated norm layers in hypernetwork-output order; offsets are assigned by
  // assign_generated_offsets().
  virtual std::vector<GeneratedNorm*> generated_norms() = 0;
  // Every batch norm of the tower in module order (none in a ViT or a folded tower): what --sync-bn
  // turns into cross-process batch norms.
  virtual std::vector<BatchNorm2d*> batch_norms() { return {}; }
  // Lays out the layers that `which` selects ("all", "first:N" or "last:N" of generated_norms())
  // one after the other ([dγ, dβ] each) and returns P; the others keep offset -1 (not generated).
  // Throws for a malformed selection or N outside 1..(number of layers).
  int64_t assign_generated_offsets(const std::string& which = "all");
};

}  // namespace hc
