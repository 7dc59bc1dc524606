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
  // tokens I32 [N, L] (L <= context), eot I32 [N] -> features [N, E] (before L2 normalisation).
  // A causal tower runs on tokens[:, :trimmed_length(eot)] only (see there).
  Tensor forward(const Tensor& tokens, const Tensor& eot) const;
  // The sequence length a forward pass needs: with a causal mask and end-of-text pooling, a
  // position after the batch's last end-of-text changes no output and receives no gradient, so a
  // causal tower runs on max(eot) + 1 positions; a non-causal one attends to every position it
  // is given, padding included, and runs all L of them. Throws for an eot outside [0, L).
  int64_t trimmed_length(const Tensor& eot, int64_t L) const;

  Tensor token_embedding;       // token_embedding.weight [V, D]
  Tensor positional_embedding;  // [T, D]
  // TransformerBlock; kind "mct": a RepMixerBlock (1×11 kernels) first and last.
  std::shared_ptr<ModuleList> blocks;
  std::shared_ptr<LayerNorm> ln_final;
  std::shared_ptr<Linear> proj;
  TextConfig cfg;
  int64_t vocab;
  // Off: every position runs, as before trimming existed (tests compare the two; bench --no-trim
  // measures what trimming saves).
  bool trim = true;
};

// The Text-RepMixer's kernels: 1×11 mixer and ConvFFN along the sequence.
inline RepMixerKernels text_repmixer_kernels() { return {1, 11, 1, 11}; }

// A RepMixer block on token features [N, L, D], seen as a 1×L image with D channels.
Tensor repmixer_on_sequence(const RepMixerBlock& block, const Tensor& x);

}  // namespace hc
