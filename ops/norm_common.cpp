#include "ops/norm_common.h"

namespace hc {

void norm_affine_2d(const char* op, const Tensor& x, int64_t C, const Tensor& gamma,
                    const Tensor& beta, const Tensor& set_index, Tensor& gamma2, Tensor& beta2) {
  HC_CHECK(gamma.defined() && beta.defined(), op, ": scale and shift are required");
  HC_CHECK(gamma.shape() == beta.shape(), op, ": scale ", gamma.desc(), " and shift ", beta.desc(),
           " differ in shape");
  bool one = gamma.dim() == 1 && gamma.size(0) == C;
  bool per_set = gamma.dim() == 2 && gamma.size(1) == C;
  HC_CHECK(one || per_set, op, ": scale ", gamma.desc(), " must be [", C, "] or [S, ", C, "]");
  gamma2 = one ? reshape(gamma, {1, C}) : gamma;
  beta2 = one ? reshape(beta, {1, C}) : beta;
  int64_t S = gamma2.size(0);
  if (set_index.defined()) {
    check_index(op, "set_index", set_index, x.device());
    HC_CHECK(set_index.dim() == 1 && set_index.size(0) == x.size(0), op, ": set_index ",
             set_index.desc(), " must have one entry per sample (", x.size(0), ")");
  } else {
    HC_CHECK(S == 1, op, ": ", S, " sets of scale and shift need a set_index");
  }
}

}  // namespace hc
