// l2_normalize over the last dim on the GPU, one warp per row: y = x / max(||x||, eps).
// backward: dx = (dy - y (y.dy)) / ||x|| when ||x|| > eps, else dy / eps.
#include "ops/cuda/common_cuda.cuh"

namespace hc {

__global__ void l2n_forward_kernel(const float* x, float* y, float* norms, int64_t R, int64_t D, float eps) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(r, R) {
    const float* xr = x + r * D;
    float ss = 0.f;
    for (int64_t d = lane; d < D; d += 32) ss += xr[d] * xr[d];
    float norm = sqrtf(warp_sum(ss));
    if (lane == 0) norms[r] = norm;
    float inv = 1.f / fmaxf(norm, eps);
    for (int64_t d = lane; d < D; d += 32) y[r * D + d] = xr[d] * inv;
  }
}

__global__ void l2n_backward_kernel(const float* y, const float* norms, const float* dy, float* dx, int64_t R,
                                    int64_t D, float eps) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(r, R) {
    const float* yr = y + r * D;
    const float* gr = dy + r * D;
    float* dr = dx + r * D;
    float norm = norms[r];
    if (norm > eps) {
      float dot = 0.f;
      for (int64_t d = lane; d < D; d += 32) dot += yr[d] * gr[d];
      dot = warp_sum(dot);
      for (int64_t d = lane; d < D; d += 32) dr[d] = (gr[d] - yr[d] * dot) / norm;
    } else {
      for (int64_t d = lane; d < D; d += 32) dr[d] = gr[d] / eps;
    }
  }
}

void CudaBackend::l2_normalize(const Tensor& x, double eps, Tensor& y, Tensor& norms) {
  int64_t D = x.size(-1), R = D ? x.numel() / D : 0;
  const float* px = cf32("l2_normalize", x);
  float *py = f32("l2_normalize", y), *pn = f32("l2_normalize", norms);
  if (R == 0) return;
  l2n_forward_kernel<<<blocks_for(R * 32), kThreads, 0, stream()>>>(px, py, pn, R, D, static_cast<float>(eps));
  cudaLaunchCheck();
}

void CudaBackend::l2_normalize_backward(const Tensor& y, const Tensor& norms, const Tensor& dy, double eps,
                                        Tensor& dx) {
  const char* op = "l2_normalize_backward";
  int64_t D = y.size(-1), R = D ? y.numel() / D : 0;
  const float *py = cf32(op, y), *pn = cf32(op, norms), *pdy = cf32(op, dy);
  float* pdx = f32(op, dx);
  if (R == 0) return;
  l2n_backward_kernel<<<blocks_for(R * 32), kThreads, 0, stream()>>>(py, pn, pdy, pdx, R, D, static_cast<float>(eps));
  cudaLaunchCheck();
}

}  // namespace hc
