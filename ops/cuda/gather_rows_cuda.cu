// gather_rows on the GPU (the end-of-text gather): out[n] = x[n, index[n]], x [N, T, D].
#include "ops/cuda/common_cuda.cuh"

namespace hc {

__global__ void gather_rows_kernel(const float* x, const int32_t* index, float* out, int64_t N, int64_t T,
                                   int64_t D, int* flag) {
  GRID_STRIDE(i, N * D) {
    int64_t n = i / D, d = i % D;
    int t = index[n];
    if (!index_ok(flag, IndexErrorOp::GatherRows, t, static_cast<int>(T), n)) continue;
    out[i] = x[(n * T + t) * D + d];
  }
}

// dx [N, T, D] = 0 except dx[n, index[n]] = dy[n]: one thread per element of dx, no atomics.
__global__ void gather_rows_backward_kernel(const int32_t* index, const float* dy, float* dx, int64_t N,
                                            int64_t T, int64_t D, int* flag) {
  GRID_STRIDE(i, N * T * D) {
    int64_t d = i % D, t = (i / D) % T, n = i / (T * D);
    int p = index[n];
    if (t == 0) index_ok(flag, IndexErrorOp::GatherRowsBackward, p, static_cast<int>(T), n);
    dx[i] = p == t ? dy[n * D + d] : 0.f;
  }
}

void CudaBackend::gather_rows(const Tensor& x, const Tensor& index, Tensor& out) {
  int64_t N = x.size(0), T = x.size(1), D = x.size(2);
  const float* px = cf32("gather_rows", x);
  float* po = f32("gather_rows", out);
  if (N * D == 0) return;
  gather_rows_kernel<<<blocks_for(N * D), kThreads, 0, stream()>>>(px, ci32("gather_rows", index), po, N, T, D,
                                                                   index_error_flag());
  cudaLaunchCheck();
}

void CudaBackend::gather_rows_backward(const Tensor& index, const Tensor& dy, Tensor& dx) {
  int64_t N = dx.size(0), T = dx.size(1), D = dx.size(2);
  const float* pdy = cf32("gather_rows_backward", dy);
  float* pdx = f32("gather_rows_backward", dx);
  if (N * T * D == 0) return;
  gather_rows_backward_kernel<<<blocks_for(N * T * D), kThreads, 0, stream()>>>(
      ci32("gather_rows_backward", index), pdy, pdx, N, T, D, index_error_flag());
  cudaLaunchCheck();
}

}  // namespace hc
