// global_avg_pool on the GPU: one warp per (image, channel) plane.
#include "ops/cuda/common_cuda.cuh"

namespace hc {

// y [planes] = mean of x [planes, hw]; warp w of the grid takes plane w.
__global__ void gap_forward_kernel(const float* x, float* y, int64_t planes, int64_t hw) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(p, planes) {
    const float* xp = x + p * hw;
    float s = 0.f;
    for (int64_t i = lane; i < hw; i += 32) s += xp[i];
    s = warp_sum(s);
    if (lane == 0) y[p] = s / static_cast<float>(hw);
  }
}

// dx [planes, hw] = dy [planes] / hw
__global__ void gap_backward_kernel(const float* dy, float* dx, int64_t planes, int64_t hw) {
  GRID_STRIDE(i, planes * hw) dx[i] = dy[i / hw] / static_cast<float>(hw);
}

void CudaBackend::global_avg_pool(const Tensor& x, Tensor& y) {
  int64_t planes = x.size(0) * x.size(1), hw = x.size(2) * x.size(3);
  const float* px = cf32("global_avg_pool", x);
  float* py = f32("global_avg_pool", y);
  if (planes == 0) return;
  gap_forward_kernel<<<blocks_for(planes * 32), kThreads, 0, stream()>>>(px, py, planes, hw);
  cudaLaunchCheck();
}

void CudaBackend::global_avg_pool_backward(const Tensor& dy, Tensor& dx) {
  int64_t planes = dx.size(0) * dx.size(1), hw = dx.size(2) * dx.size(3);
  const float* pdy = cf32("global_avg_pool_backward", dy);
  float* pdx = f32("global_avg_pool_backward", dx);
  if (planes * hw == 0) return;
  gap_backward_kernel<<<blocks_for(planes * hw), kThreads, 0, stream()>>>(pdy, pdx, planes, hw);
  cudaLaunchCheck();
}

}  // namespace hc
