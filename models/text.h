// The text tower with end-of-text pooling (SPEC 1.3; the Text-RepMixer of SPEC 2.1), names as
// docs/model.md.
#pragma once
#include "models/config.h"
#include "models/layers.h"
#include "models/mobileone.h"

namespace hc {

class TextTower : public Module {
 public:
  // folded: the exported form of a Text-RepMixer (models/reparam.h); a transformer tower has nothing
  // to fold and is the same either way.
  TextTower(const TextConfig& cfg, int64_t vocab, int64_t embed, bool folded = false);
  // tokens I32 [N, L] (L <= context), eot I32 [N] -> features [N, E] (before L2 normalisation)
  Tensor forward(const Tensor& tokens, const Tensor& eot) const;

  Tensor token_embedding;       // token_embedding.weight [V, D]
  Tensor positional_embedding;  // [T, D]
  // TransformerBlock; kind "mct": a RepMixerBlock (1×11 kernels) first and last.
  std::shared_ptr<ModuleList> blocks;
  std::shared_ptr<LayerNorm> ln_final;
  std::shared_ptr<Linear> proj;
  TextConfig cfg;
  int64_t vocab;
};

// The Text-RepMixer's kernels: 1×11 mixer and ConvFFN along the sequence.
inline RepMixerKernels text_repmixer_kernels() { return {1, 11, 1, 11}; }

// A RepMixer block on token features [N, L, D], seen as a 1×L image with D channels.
Tensor repmixer_on_sequence(const RepMixerBlock& block, const Tensor& x);

}  // namespace hc
