// softmax over the last dim on the GPU: one warp per row, max-subtracted so that large inputs do
// not overflow. backward: dx = y * (dy - sum(dy * y)).
#include "ops/cuda/softmax_cuda.cuh"

namespace hc {

// y [R, D] = softmax of each row of x [R, D]; y may alias x. With causal_T > 0 the rows are the
// [T, T] score matrices of attention stacked: row r is query i = r % T, and keys j > i are masked
// (their probability is exactly 0).
__global__ void softmax_rows_kernel(const float* x, float* y, int64_t R, int64_t D, int64_t causal_T) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(r, R) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    int64_t visible = causal_T > 0 ? (r % causal_T) + 1 : D;
    float m = -INFINITY;
    for (int64_t d = lane; d < visible; d += 32) m = fmaxf(m, xr[d]);
    m = warp_max(m);
    float s = 0.f;
    for (int64_t d = lane; d < visible; d += 32) s += expf(xr[d] - m);
    float inv = 1.f / warp_sum(s);
    for (int64_t d = lane; d < D; d += 32) yr[d] = d < visible ? expf(xr[d] - m) * inv : 0.f;
  }
}

// dx [R, D] = y * (dy - rowsum(dy * y)); dx may alias dy.
__global__ void softmax_backward_rows_kernel(const float* y, const float* dy, float* dx, int64_t R, int64_t D) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(r, R) {
    const float* yr = y + r * D;
    const float* gr = dy + r * D;
    float dot = 0.f;
    for (int64_t d = lane; d < D; d += 32) dot += yr[d] * gr[d];
    dot = warp_sum(dot);
    float* dr = dx + r * D;
    for (int64_t d = lane; d < D; d += 32) dr[d] = yr[d] * (gr[d] - dot);
  }
}


void softmax_rows(cudaStream_t stream, const float* x, float* y, int64_t R, int64_t D, int64_t causal_T) {
  if (R == 0 || D == 0) return;
  softmax_rows_kernel<<<blocks_for(R * 32), kThreads, 0, stream>>>(x, y, R, D, causal_T);
  cudaLaunchCheck();
}

void softmax_backward_rows(cudaStream_t stream, const float* y, const float* dy, float* dx, int64_t R, int64_t D) {
  if (R == 0 || D == 0) return;
  softmax_backward_rows_kernel<<<blocks_for(R * 32), kThreads, 0, stream>>>(y, dy, dx, R, D);
  cudaLaunchCheck();
}

void CudaBackend::softmax(const Tensor& x, Tensor& y) {
  int64_t D = x.size(-1), R = D ? x.numel() / D : 0;
  softmax_rows(stream(), cf32("softmax", x), f32("softmax", y), R, D, 0);
}

void CudaBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  int64_t D = y.size(-1), R = D ? y.numel() / D : 0;
  softmax_backward_rows(stream(), cf32("softmax_backward", y), cf32("softmax_backward", dy),
                        f32("softmax_backward", dx), R, D);
}

}  // namespace hc
