// Per-sample set lookup for the norm kernels: sample n uses row set_of(n) of gamma/beta [S, C].
#pragma once
#include <vector>

#include "core/tensor.h"

namespace hc {

// Host copy of set_index (all zeros when undefined), each entry checked to lie in [0, S).
inline std::vector<int32_t> checked_sets(const char* op, const Tensor& set_index, int64_t N, int64_t S) {
  if (!set_index.defined()) return std::vector<int32_t>(N, 0);
  std::vector<int32_t> s = set_index.to_ints();
  for (int64_t n = 0; n < N; ++n)
    HC_CHECK(s[n] >= 0 && s[n] < S, op, ": set_index[", n, "] = ", s[n], " is outside [0, ", S, ")");
  return s;
}

}  // namespace hc
