// Per-set sums for the norm kernels' dgamma/dbeta: out[s, c] = sum over samples n of set s of
// part[n, c]. One thread per (s, c), looping over the samples in order (deterministic).
#pragma once
#include "ops/cuda/common_cuda.cuh"

namespace hc {

// part [N, C], set_index [N] (null: one set), out [S, C]
static __global__ void sets_reduce_kernel(const float* part, const int32_t* set_index, float* out,
                                          int64_t N, int S, int64_t C) {
  GRID_STRIDE(i, int64_t(S) * C) {
    int64_t s = i / C, c = i % C;
    float acc = 0.f;
    for (int64_t n = 0; n < N; ++n)
      if (!set_index || set_index[n] == s) acc += part[n * C + c];
    out[i] = acc;
  }
}

inline void sets_reduce(cudaStream_t stream, const float* part, const int32_t* set_index, float* out,
                        int64_t N, int64_t S, int64_t C) {
  if (S * C == 0) return;
  sets_reduce_kernel<<<blocks_for(S * C), kThreads, 0, stream>>>(part, set_index, out, N, static_cast<int>(S), C);
  cudaLaunchCheck();
}

}  // namespace hc
