// Shared argument handling for batch_norm and layer_norm: scale and shift given as [C] (one
// set) or [S, C] with a per-sample set index (SPEC 1.4).
#pragma once
#include "ops/ops.h"

namespace hc {

// Checks gamma/beta/set_index against C channels and N samples; returns gamma and beta as
// [S, C] (a [C] input is viewed as [1, C] through the reshape op, so gradients flow back).
void norm_affine_2d(const char* op, const Tensor& x, int64_t C, const Tensor& gamma,
                    const Tensor& beta, const Tensor& set_index, Tensor& gamma2, Tensor& beta2);

}  // namespace hc
