// layer_norm on the GPU: one warp per row of D values (row r belongs to sample r / per, which picks
// its gamma/beta row through set_index). Two passes over the row for mean and variance.
// Backward: dx per row (warp per row); dgamma/dbeta through per-sample partial sums
// part[n, d] (one thread per (n, d), over the sample's rows in order), then per-set sums.
#include "ops/cuda/norm_sets_cuda.cuh"

namespace hc {

// x, y [R, D]; gamma, beta [S, D]; save_mean, save_invstd [R]
__global__ void ln_forward_kernel(const float* x, const float* gamma, const float* beta, const int32_t* set_index,
                                  float* y, float* save_mean, float* save_invstd, int64_t R, int64_t D,
                                  int64_t per, int S, float eps, int* flag) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(r, R) {
    const float* xr = x + r * D;
    float s = 0.f;
    for (int64_t d = lane; d < D; d += 32) s += xr[d];
    float mean = warp_sum(s) / static_cast<float>(D);
    float ss = 0.f;
    for (int64_t d = lane; d < D; d += 32) ss += (xr[d] - mean) * (xr[d] - mean);
    float invstd = rsqrtf(warp_sum(ss) / static_cast<float>(D) + eps);
    if (lane == 0) {
      save_mean[r] = mean;
      save_invstd[r] = invstd;
    }
    int set = set_of(set_index, r / per, S, flag, IndexErrorOp::LayerNorm);
    if (set < 0) continue;
    const float* g = gamma + set * D;
    const float* b = beta + set * D;
    float* yr = y + r * D;
    for (int64_t d = lane; d < D; d += 32) yr[d] = (xr[d] - mean) * invstd * g[d] + b[d];
  }
}

// dx [R, D] = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma
__global__ void ln_dx_kernel(const float* x, const float* gamma, const int32_t* set_index, const float* save_mean,
                             const float* save_invstd, const float* dy, float* dx, int64_t R, int64_t D,
                             int64_t per, int S, int* flag) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(r, R) {
    int set = set_of(set_index, r / per, S, flag, IndexErrorOp::LayerNormBackward);
    if (set < 0) continue;
    const float* xr = x + r * D;
    const float* gr = dy + r * D;
    const float* g = gamma + set * D;
    float mean = save_mean[r], invstd = save_invstd[r], a = 0.f, b = 0.f;
    for (int64_t d = lane; d < D; d += 32) {
      float dxhat = gr[d] * g[d];
      a += dxhat;
      b += dxhat * (xr[d] - mean) * invstd;
    }
    a = warp_sum(a) / static_cast<float>(D);
    b = warp_sum(b) / static_cast<float>(D);
    float* dr = dx + r * D;
    for (int64_t d = lane; d < D; d += 32) {
      float xhat = (xr[d] - mean) * invstd;
      dr[d] = invstd * (gr[d] * g[d] - a - xhat * b);
    }
  }
}

// pa [N, D] = sum over sample n's rows of dy * xhat; pb [N, D] = sum of dy
__global__ void ln_sample_parts_kernel(const float* x, const float* save_mean, const float* save_invstd,
                                       const float* dy, float* pa, float* pb, int64_t N, int64_t D, int64_t per) {
  GRID_STRIDE(i, N * D) {
    int64_t n = i / D, d = i % D;
    float a = 0.f, b = 0.f;
    for (int64_t r = n * per; r < (n + 1) * per; ++r) {
      float g = dy[r * D + d];
      a += g * (x[r * D + d] - save_mean[r]) * save_invstd[r];
      b += g;
    }
    pa[i] = a;
    pb[i] = b;
  }
}

void CudaBackend::layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                     const Tensor& set_index, double eps, Tensor& y, Tensor& save_mean,
                                     Tensor& save_invstd) {
  const char* op = "layer_norm";
  int64_t D = x.size(-1), R = D ? x.numel() / D : 0, N = x.size(0), S = gamma.size(0);
  const float *px = cf32(op, x), *pg = cf32(op, gamma), *pb = cf32(op, beta);
  float *py = f32(op, y), *sm = f32(op, save_mean), *si = f32(op, save_invstd);
  const int32_t* sets = ci32(op, set_index);
  if (R == 0 || N == 0) return;
  ln_forward_kernel<<<blocks_for(R * 32), kThreads, 0, stream()>>>(px, pg, pb, sets, py, sm, si, R, D, R / N,
                                                                   static_cast<int>(S), static_cast<float>(eps),
                                                                   index_error_flag());
  cudaLaunchCheck();
}

void CudaBackend::layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                      const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dy,
                                      Tensor* dx, Tensor* dgamma, Tensor* dbeta) {
  const char* op = "layer_norm_backward";
  int64_t D = x.size(-1), R = D ? x.numel() / D : 0, N = x.size(0), S = gamma.size(0);
  const float *px = cf32(op, x), *pg = cf32(op, gamma), *pdy = cf32(op, dy);
  const float *sm = cf32(op, save_mean), *si = cf32(op, save_invstd);
  const int32_t* sets = ci32(op, set_index);
  float* pdx = dx ? f32(op, *dx) : nullptr;
  float* pdg = dgamma ? f32(op, *dgamma) : nullptr;
  float* pdb = dbeta ? f32(op, *dbeta) : nullptr;
  if (R == 0 || N == 0) {
    if (pdg) fill(*dgamma, 0.0);
    if (pdb) fill(*dbeta, 0.0);
    return;
  }
  int64_t per = R / N;
  if (pdx) {
    ln_dx_kernel<<<blocks_for(R * 32), kThreads, 0, stream()>>>(px, pg, sets, sm, si, pdy, pdx, R, D, per,
                                                                static_cast<int>(S), index_error_flag());
    cudaLaunchCheck();
  }
  if (pdg || pdb) {
    Tensor pa = scratch({N, D}), pb = scratch({N, D});
    ln_sample_parts_kernel<<<blocks_for(N * D), kThreads, 0, stream()>>>(px, sm, si, pdy, f32(op, pa),
                                                                         f32(op, pb), N, D, per);
    cudaLaunchCheck();
    if (pdg) sets_reduce(stream(), cf32(op, pa), sets, pdg, N, S, D);
    if (pdb) sets_reduce(stream(), cf32(op, pb), sets, pdb, N, S, D);
  }
}

}  // namespace hc
