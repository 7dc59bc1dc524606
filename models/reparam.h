// Structural reparameterisation of MobileCLIP's towers (SPEC 2.1, 1.7): the trained branch form
// becomes the folded form (models/mobileone.h), one convolution per block and no normalisation
// layer. Everything is computed in double from the trained tower's evaluation-mode values:
//  1. each batch norm becomes a per-channel affine map y = s·x + t, s = γ/√(σ²+ε), t = β − μ·s,
//     with γ = γ0 + dγ and β = β0 + dβ when the hypernetwork generates it;
//  2. a conv-BN branch becomes a conv with bias (W·s, t); a BN identity branch becomes a kernel with
//     s at the centre tap of its own channel (within its group), bias t; a 1×1 or 3×3 branch is
//     zero-padded to the block's kernel; the branches of a block are summed;
//  3. RepMixer: W = I + ls ⊙ (W_mixer − W_norm), b = ls ⊙ (b_mixer − b_norm); RepCPE: W = I + W_pe;
//  4. the ConvFFN's BN goes into its depthwise conv; the attention block's pre-norm BN into the qkv
//     projection (W·diag(s), bias W·t); the layer scales into the projection that precedes them
//     (token_mixer.proj, mlp.fc2).
// Everything that is not folded (SE, fc1, embeddings, transformer blocks, the projection) is copied.
#pragma once
#include <vector>

#include "models/mci.h"
#include "models/text.h"

namespace hc {

// trained: a branch-form tower (its training flag is ignored: batch norms fold with their running
// statistics); gen: the hypernetwork's output for one set, P values laid out as the tower's
// generated offsets say (empty: no generated values, the baseline). folded: a tower built with
// folded = true from the same configuration; its weights are overwritten.
void fold_mci(MciTower& trained, const std::vector<double>& gen, MciTower& folded);

// The Text-RepMixer's two RepMixer blocks folded, everything else copied (a transformer text tower
// is copied as it is).
void fold_text(const TextTower& trained, TextTower& folded);

}  // namespace hc
