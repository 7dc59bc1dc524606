// How the CPU's matrix products split one product over threads, shared by the float32 (OpenBLAS)
// and bf16 products: C [M, N] cut along its longer side into one block per thread, a multiple of
// 32 rows or columns each, every block a single-threaded product.
#pragma once
#include <algorithm>
#include <cstdint>

namespace hc {

// Calls block(by_rows, lo, n) for each block: rows (by_rows) or columns lo .. lo + n of C.
template <class Block>
void for_each_gemm_block(int64_t M, int64_t N, int threads, Block block) {
  const bool by_rows = M >= N;
  const int64_t len = by_rows ? M : N;
  const int64_t chunk = threads > 1 ? ((len + threads - 1) / threads + 31) / 32 * 32 : len;
  const int parts = static_cast<int>((len + chunk - 1) / chunk);
#pragma omp parallel for schedule(static, 1) num_threads(parts) if (parts > 1)
  for (int t = 0; t < parts; ++t) {
    const int64_t lo = t * chunk;
    block(by_rows, lo, std::min(chunk, len - lo));
  }
}

}  // namespace hc
