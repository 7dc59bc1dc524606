// OpenMP helpers shared by the CPU kernels.
#pragma once
#include <cstdint>

namespace hc {

// Below this many elements a loop runs on one thread: the fork/join costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 14;

// Row-major index arithmetic for broadcasting kernels: the element offset of `index` (an index into
// out's shape) in a tensor whose strides are given in out's coordinates (0 on broadcast dims).
inline int64_t offset_of(int64_t linear, int rank, const int64_t* out_shape,
                         const int64_t* strides) {
  int64_t off = 0;
  for (int d = rank - 1; d >= 0; --d) {
    int64_t i = linear % out_shape[d];
    linear /= out_shape[d];
    off += i * strides[d];
  }
  return off;
}

}  // namespace hc
