// permute: out.shape[k] = x.shape[perm[k]], written contiguously.
#include <vector>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

void CpuBackend::permute(const Tensor& x, const std::vector<int>& perm, Tensor& out) {
  int rank = static_cast<int>(perm.size());
  std::vector<int64_t> xst = contiguous_strides(x.shape());
  std::vector<int64_t> st(rank);  // x's stride for each of out's dims
  for (int k = 0; k < rank; ++k) st[k] = xst[perm[k]];
  const Shape& os = out.shape();
  int64_t n = out.numel();
  size_t esize = dtype_size(x.dtype());
  if (rank == 0 || n == 0) {
    copy_on_device(out.raw_data(), x.raw_data(), n * esize);
    return;
  }
  int64_t inner = os[rank - 1], rows = n / inner, step = st[rank - 1];
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* po = static_cast<T*>(out.raw_data());
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = offset_of(r * inner, rank, os.data(), st.data());
      for (int64_t j = 0; j < inner; ++j) po[r * inner + j] = px[off + j * step];
    }
  };
  // Any 4- or 8-byte element moves the same way, so indices permute too.
  if (esize == 8) run(double{}); else run(float{});
}

}  // namespace hc
