// The causal text tower with end-of-text pooling (SPEC 1.3), names as docs/model.md.
#pragma once
#include "models/config.h"
#include "models/layers.h"

namespace hc {

class TextTower : public Module {
 public:
  TextTower(const TextConfig& cfg, int64_t vocab, int64_t embed);
  // tokens I32 [N, L] (L <= context), eot I32 [N] -> features [N, E] (before L2 normalisation)
  Tensor forward(const Tensor& tokens, const Tensor& eot) const;

  Tensor token_embedding;       // token_embedding.weight [V, D]
  Tensor positional_embedding;  // [T, D]
  std::shared_ptr<ModuleList> blocks;
  std::shared_ptr<LayerNorm> ln_final;
  std::shared_ptr<Linear> proj;
  TextConfig cfg;
  int64_t vocab;
};

}  // namespace hc
