// permute on the GPU: out.shape[k] = x.shape[perm[k]], written contiguously. Moves 4-byte
// elements, so float32 and int32 tensors permute alike.
#include <vector>

#include "ops/cuda/common_cuda.cuh"

namespace hc {

// out [n] (contiguous, shape s.shape) = x at strides s.a
__global__ void permute_kernel(const uint32_t* x, uint32_t* out, int64_t n, Strided s) {
  GRID_STRIDE(i, n) {
    int64_t ox, unused;
    offsets_of(s, i, ox, unused);
    out[i] = x[ox];
  }
}

void CudaBackend::permute(const Tensor& x, const std::vector<int>& perm, Tensor& out) {
  HC_CHECK(dtype_size(x.dtype()) == 4, "op 'permute' on the CUDA backend needs 4-byte elements, got ", x.desc());
  int rank = static_cast<int>(perm.size());
  HC_CHECK(rank <= kMaxRank, "permute: rank ", rank, " is above the CUDA limit ", kMaxRank);
  int64_t n = out.numel();
  if (n == 0) return;
  if (rank == 0) {
    copy_on_device(out.raw_data(), x.raw_data(), 4);
    return;
  }
  std::vector<int64_t> xst = contiguous_strides(x.shape());
  Strided s;
  s.rank = rank;
  for (int k = 0; k < rank; ++k) {
    s.shape[k] = out.shape()[k];
    s.a[k] = xst[perm[k]];
  }
  permute_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<const uint32_t*>(x.raw_data()),
                                                           static_cast<uint32_t*>(out.raw_data()), n, s);
  cudaLaunchCheck();
}

}  // namespace hc
