// embedding on the GPU: out [n, D] = weight [V, D] rows picked by ids [n]. The backward pass
// scatter-adds dy rows into dweight with atomicAdd (repeated ids add into one row; float addition
// order is then not fixed, a difference of rounding only). Ids outside [0, V) are reported through
// the backend's index-error flag and their rows are left untouched.
#include "ops/cuda/common_cuda.cuh"

namespace hc {

__global__ void embedding_kernel(const float* weight, const int32_t* ids, float* out, int64_t n, int64_t V,
                                 int64_t D, int* flag) {
  GRID_STRIDE(i, n * D) {
    int64_t row = i / D, d = i % D;
    int id = ids[row];
    if (!index_ok(flag, IndexErrorOp::Embedding, id, static_cast<int>(V), row)) continue;
    out[i] = weight[id * D + d];
  }
}

__global__ void embedding_backward_kernel(const int32_t* ids, const float* dy, float* dweight, int64_t n,
                                          int64_t V, int64_t D, int* flag) {
  GRID_STRIDE(i, n * D) {
    int64_t row = i / D, d = i % D;
    int id = ids[row];
    if (!index_ok(flag, IndexErrorOp::EmbeddingBackward, id, static_cast<int>(V), row)) continue;
    atomicAdd(dweight + id * D + d, dy[i]);
  }
}

void CudaBackend::embedding(const Tensor& weight, const Tensor& ids, Tensor& out) {
  int64_t V = weight.size(0), D = weight.size(1), n = ids.numel();
  const float* pw = cf32("embedding", weight);
  float* po = f32("embedding", out);
  if (n * D == 0) return;
  embedding_kernel<<<blocks_for(n * D), kThreads, 0, stream()>>>(pw, ci32("embedding", ids), po, n, V, D,
                                                                 index_error_flag());
  cudaLaunchCheck();
}

void CudaBackend::embedding_backward(const Tensor& ids, const Tensor& dy, Tensor& dweight) {
  int64_t V = dweight.size(0), D = dweight.size(1), n = ids.numel();
  const float* pdy = cf32("embedding_backward", dy);
  float* pw = f32("embedding_backward", dweight);
  if (n * D == 0) return;
  embedding_backward_kernel<<<blocks_for(n * D), kThreads, 0, stream()>>>(ci32("embedding_backward", ids), pdy,
                                                                          pw, n, V, D, index_error_flag());
  cudaLaunchCheck();
}

}  // namespace hc
