// Softmax cross-entropy against soft targets on the GPU (the formulas of
// ops/cpu/soft_cross_entropy_cpu.cpp): one warp per row computes the row's log-sum-exp; the loss
// sums the per-row terms in one block, so it repeats bit for bit.
#include "ops/cuda/common_cuda.cuh"

namespace hc {

// Log-sum-exp of a row, max-subtracted; every lane of the warp gets it.
__device__ inline float warp_row_lse(const float* row, int64_t K, int lane) {
  float m = -INFINITY;
  for (int64_t k = lane; k < K; k += 32) m = fmaxf(m, row[k]);
  m = warp_max(m);
  float s = 0.f;
  for (int64_t k = lane; k < K; k += 32) s += expf(row[k] - m);
  return m + logf(warp_sum(s));
}

// rows [n] = -sum_k target_ik (logits_ik - lse_i)
__global__ void sce_rows_kernel(const float* logits, const float* target, float* rows, int64_t n, int64_t K) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(i, n) {
    const float* l = logits + i * K;
    const float* t = target + i * K;
    float lse = warp_row_lse(l, K, lane), r = 0.f;
    for (int64_t k = lane; k < K; k += 32) r -= t[k] * (l[k] - lse);
    r = warp_sum(r);
    if (lane == 0) rows[i] = r;
  }
}

// loss [1] = sum(rows) / n; one block.
__global__ void sce_total_kernel(const float* rows, float* loss, int64_t n) {
  float acc = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += rows[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) loss[0] = acc / static_cast<float>(n);
}

// dlogits = g/n (softmax * sum_k target - target), dtarget = -g/n (logits - lse); either may be null.
__global__ void sce_backward_kernel(const float* logits, const float* target, const float* dloss, float* dlogits,
                                    float* dtarget, int64_t n, int64_t K) {
  int lane = threadIdx.x & 31;
  float g = dloss[0] / static_cast<float>(n);
  WARP_STRIDE(i, n) {
    const float* l = logits + i * K;
    const float* t = target + i * K;
    float lse = warp_row_lse(l, K, lane);
    if (dlogits) {
      float ts = 0.f;
      for (int64_t k = lane; k < K; k += 32) ts += t[k];
      ts = warp_sum(ts);
      for (int64_t k = lane; k < K; k += 32) dlogits[i * K + k] = g * (expf(l[k] - lse) * ts - t[k]);
    }
    if (dtarget)
      for (int64_t k = lane; k < K; k += 32) dtarget[i * K + k] = -g * (l[k] - lse);
  }
}

void CudaBackend::soft_cross_entropy(const Tensor& logits, const Tensor& target, Tensor& loss) {
  const char* op = "soft_cross_entropy";
  int64_t n = logits.size(0), K = logits.size(1);
  const float *pl = cf32(op, logits), *pt = cf32(op, target);
  float* ploss = f32(op, loss);
  HC_CHECK(n > 0 && K > 0, "soft_cross_entropy: empty logits ", logits.desc());
  Tensor rows = scratch({n});
  sce_rows_kernel<<<blocks_for(n * 32), kThreads, 0, stream()>>>(pl, pt, f32(op, rows), n, K);
  cudaLaunchCheck();
  sce_total_kernel<<<1, 1024, 0, stream()>>>(cf32(op, rows), ploss, n);
  cudaLaunchCheck();
}

void CudaBackend::soft_cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss,
                                              Tensor* dlogits, Tensor* dtarget) {
  const char* op = "soft_cross_entropy_backward";
  int64_t n = logits.size(0), K = logits.size(1);
  const float *pl = cf32(op, logits), *pt = cf32(op, target), *pg = cf32(op, dloss);
  if (n * K == 0 || (!dlogits && !dtarget)) return;
  sce_backward_kernel<<<blocks_for(n * 32), kThreads, 0, stream()>>>(
      pl, pt, pg, dlogits ? f32(op, *dlogits) : nullptr, dtarget ? f32(op, *dtarget) : nullptr, n, K);
  cudaLaunchCheck();
}

}  // namespace hc
