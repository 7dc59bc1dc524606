#include "models/image_tower.h"

namespace hc {

int64_t ImageTower::assign_generated_offsets() {
  int64_t p = 0;
  for (GeneratedNorm* n : generated_norms()) {
    n->offset = p;
    p += 2 * n->channels;
  }
  return p;
}

}  // namespace hc
