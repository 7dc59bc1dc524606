// The SigLIP sigmoid loss (SPEC 1.5) on the GPU, fused: the n×m logits live only in a scratch
// buffer, never on the tape. On a block of pairs (core/kernels.def): images v [n, E], texts e [m, E],
// the pair (i, j) positive when j = i + o, B the batch the loss is divided by (one process: m = n = B,
// o = 0).
//   d_ij = v_i . e_j (one float32 GEMM, in every math mode: loss arithmetic stays float32)
//   l_ij = t d_ij + b,  t = exp(t'),  L = (1/B) [ sum_ij softplus(l_ij) - sum_{j = i+o} l_ij ]
//   G_ij = g (sigmoid(l_ij) - [j = i+o]) / B,   g the upstream gradient
//   dv = t G e,  de = t Gᵀ v,  db = sum G,  dt' = sum G_ij (l_ij - b)
// t', b and g are read on the device: no host round trip inside a training step. The reductions
// run in one block (n·m terms; n is the batch size), so the loss repeats bit for bit.
#include "ops/cuda/common_cuda.cuh"
#include "ops/scalar_math.h"

namespace hc {

// loss [1] from dots [n, m]; one block.
__global__ void siglip_forward_kernel(const float* dots, const float* t_prime, const float* bias, float* loss,
                                      int64_t n, int64_t m, int64_t offset, int64_t batch) {
  float t = expf(t_prime[0]), b = bias[0], acc = 0.f;
  for (int64_t k = threadIdx.x; k < n * m; k += blockDim.x) {
    float l = t * dots[k] + b;
    acc += softplus_of(l);
    if (k % m - k / m == offset) acc -= l;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) loss[0] = acc / static_cast<float>(batch);
}

// gt [n, m] = t * G (in place over dots); db, dt' (either may be null); one block.
__global__ void siglip_backward_kernel(float* dots_to_gt, const float* t_prime, const float* bias,
                                       const float* dloss, float* db, float* dt_prime, int64_t n, int64_t m,
                                       int64_t offset, int64_t batch) {
  float t = expf(t_prime[0]), b = bias[0], g = dloss[0] / static_cast<float>(batch);
  float sum_g = 0.f, sum_gs = 0.f;
  for (int64_t k = threadIdx.x; k < n * m; k += blockDim.x) {
    float d = dots_to_gt[k];
    float l = t * d + b;
    float gij = (sigmoid_of(l) - (k % m - k / m == offset ? 1.f : 0.f)) * g;
    sum_g += gij;
    sum_gs += gij * (t * d);  // l_ij - b
    dots_to_gt[k] = t * gij;
  }
  sum_g = block_sum(sum_g);
  sum_gs = block_sum(sum_gs);
  if (threadIdx.x == 0) {
    if (db) db[0] = sum_g;
    if (dt_prime) dt_prime[0] = sum_gs;
  }
}

void CudaBackend::siglip_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b,
                              int64_t positive_offset, int64_t batch, Tensor& loss) {
  const char* op = "siglip_loss";
  int64_t n = v.size(0), m = e.size(0), E = v.size(1);
  const float *pv = cf32(op, v), *pe = cf32(op, e), *pt = cf32(op, t_prime), *pb = cf32(op, b);
  float* pl = f32(op, loss);
  HC_CHECK(n > 0 && m > 0, "siglip_loss: empty batch");
  Tensor dots = scratch({n, m});
  gemm(pv, false, 0, pe, true, 0, f32(op, dots), 1, n, m, E, 1.f, 0.f, /*allow_bf16=*/false);
  siglip_forward_kernel<<<1, 1024, 0, stream()>>>(cf32(op, dots), pt, pb, pl, n, m, positive_offset, batch);
  cudaLaunchCheck();
}

void CudaBackend::siglip_loss_backward(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b,
                                       int64_t positive_offset, int64_t batch, const Tensor& dloss, Tensor* dv,
                                       Tensor* de, Tensor* dt_prime, Tensor* db) {
  const char* op = "siglip_loss_backward";
  int64_t n = v.size(0), m = e.size(0), E = v.size(1);
  const float *pv = cf32(op, v), *pe = cf32(op, e), *pt = cf32(op, t_prime), *pb = cf32(op, b);
  const float* pg = cf32(op, dloss);
  HC_CHECK(n > 0 && m > 0, "siglip_loss_backward: empty batch");
  Tensor gt = scratch({n, m});
  float* pgt = f32(op, gt);
  gemm(pv, false, 0, pe, true, 0, pgt, 1, n, m, E, 1.f, 0.f, /*allow_bf16=*/false);
  siglip_backward_kernel<<<1, 1024, 0, stream()>>>(pgt, pt, pb, pg, db ? f32(op, *db) : nullptr,
                                                   dt_prime ? f32(op, *dt_prime) : nullptr, n, m, positive_offset,
                                                   batch);
  cudaLaunchCheck();
  if (dv) gemm(pgt, false, 0, pe, false, 0, f32(op, *dv), 1, n, E, m, 1.f, 0.f, false);  // t G e      [n, E]
  if (de) gemm(pgt, true, 0, pv, false, 0, f32(op, *de), 1, m, E, n, 1.f, 0.f, false);   // t Gᵀ v     [m, E]
}

}  // namespace hc
