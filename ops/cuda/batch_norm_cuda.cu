// batch_norm on the GPU. x [N, C, L] (L the spatial size), gamma/beta [S, C], set_index [N].
// Statistics in stages that each keep the GPU busy, whatever N, C and L are:
//   planes: one warp per (n, c) plane sums x (then (x - mean)²) into part [N, C];
//   channels: one thread per channel adds its N partial sums in order (double) -> mean, var;
//   apply: one thread per element, y = x * invstd * gamma[set(n), c] + (beta - mean * invstd * gamma).
// Backward (training): part sums a = sum dy*xhat, b = sum dy per plane; dgamma/dbeta per set from
// them; m1 = sum_n gamma b / M, m2 = sum_n gamma a / M per channel; then
//   dx = invstd * (dy * gamma - m1 - xhat * m2)         (evaluation: dx = dy * gamma * invstd).
#include "ops/cuda/norm_sets_cuda.cuh"

namespace hc {

// part [planes] = sum over the plane of (x - mean[c])^2, or of x when mean is null.
__global__ void bn_plane_sums_kernel(const float* x, const float* mean, float* part, int64_t planes,
                                     int64_t C, int64_t L) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(p, planes) {
    const float* xp = x + p * L;
    float m = mean ? mean[p % C] : 0.f, s = 0.f;
    for (int64_t i = lane; i < L; i += 32) {
      float d = xp[i] - m;
      s += mean ? d * d : xp[i];
    }
    s = warp_sum(s);
    if (lane == 0) part[p] = s;
  }
}

// save_mean [C] = sum_n part[n, c] / M
__global__ void bn_mean_kernel(const float* part, float* save_mean, int64_t N, int64_t C, double M) {
  GRID_STRIDE(c, C) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) s += part[n * C + c];
    save_mean[c] = static_cast<float>(s / M);
  }
}

// From the squared-deviation sums: save_invstd, and the running statistics (unbiased variance).
__global__ void bn_var_kernel(const float* part, const float* save_mean, float* save_invstd,
                              float* running_mean, float* running_var, int64_t N, int64_t C, double M,
                              double momentum, double eps) {
  GRID_STRIDE(c, C) {
    double ss = 0;
    for (int64_t n = 0; n < N; ++n) ss += part[n * C + c];
    double var = ss / M;
    save_invstd[c] = static_cast<float>(1.0 / sqrt(var + eps));
    running_mean[c] = static_cast<float>((1 - momentum) * running_mean[c] + momentum * save_mean[c]);
    running_var[c] = static_cast<float>((1 - momentum) * running_var[c] + momentum * var * M / (M - 1));
  }
}

// Evaluation: the running statistics are the ones used.
__global__ void bn_eval_stats_kernel(const float* running_mean, const float* running_var, float* save_mean,
                                     float* save_invstd, int64_t C, double eps) {
  GRID_STRIDE(c, C) {
    save_mean[c] = running_mean[c];
    save_invstd[c] = static_cast<float>(1.0 / sqrt(double(running_var[c]) + eps));
  }
}

// y [N, C, L]
__global__ void bn_apply_kernel(const float* x, const float* gamma, const float* beta, const int32_t* set_index,
                                const float* mean, const float* invstd, float* y, int64_t N, int64_t C,
                                int64_t L, int S, int* flag) {
  GRID_STRIDE(i, N * C * L) {
    int64_t c = (i / L) % C, n = i / (C * L);
    int s = set_of(set_index, n, S, flag, IndexErrorOp::BatchNorm);
    if (s < 0) continue;
    float g = gamma[s * C + c];
    float scale = invstd[c] * g;
    float shift = beta[s * C + c] - mean[c] * scale;
    y[i] = x[i] * scale + shift;
  }
}

// pa [planes] = sum dy * xhat, pb [planes] = sum dy, over each (n, c) plane.
__global__ void bn_backward_planes_kernel(const float* x, const float* dy, const float* mean,
                                          const float* invstd, float* pa, float* pb, int64_t planes,
                                          int64_t C, int64_t L) {
  int lane = threadIdx.x & 31;
  WARP_STRIDE(p, planes) {
    int64_t c = p % C;
    const float* xp = x + p * L;
    const float* gp = dy + p * L;
    float m = mean[c], is = invstd[c], a = 0.f, b = 0.f;
    for (int64_t i = lane; i < L; i += 32) {
      a += gp[i] * (xp[i] - m) * is;
      b += gp[i];
    }
    a = warp_sum(a);
    b = warp_sum(b);
    if (lane == 0) {
      pa[p] = a;
      pb[p] = b;
    }
  }
}

// m [2, C]: m[0, c] = sum_n gamma b / M, m[1, c] = sum_n gamma a / M
__global__ void bn_backward_channel_kernel(const float* pa, const float* pb, const float* gamma,
                                           const int32_t* set_index, float* m, int64_t N, int64_t C, int S,
                                           double M, int* flag) {
  GRID_STRIDE(c, C) {
    double s1 = 0, s2 = 0;
    for (int64_t n = 0; n < N; ++n) {
      int s = set_of(set_index, n, S, flag, IndexErrorOp::BatchNormBackward);
      if (s < 0) continue;
      double g = gamma[s * C + c];
      s1 += g * pb[n * C + c];
      s2 += g * pa[n * C + c];
    }
    m[c] = static_cast<float>(s1 / M);
    m[C + c] = static_cast<float>(s2 / M);
  }
}

// dx [N, C, L]; m null in evaluation mode.
__global__ void bn_dx_kernel(const float* x, const float* dy, const float* gamma, const int32_t* set_index,
                             const float* mean, const float* invstd, const float* m, float* dx, int64_t N,
                             int64_t C, int64_t L, int S, int* flag) {
  GRID_STRIDE(i, N * C * L) {
    int64_t c = (i / L) % C, n = i / (C * L);
    int s = set_of(set_index, n, S, flag, IndexErrorOp::BatchNormBackward);
    if (s < 0) continue;
    float g = gamma[s * C + c], is = invstd[c];
    if (m) {
      float xhat = (x[i] - mean[c]) * is;
      dx[i] = is * (dy[i] * g - m[c] - xhat * m[C + c]);
    } else {
      dx[i] = dy[i] * g * is;
    }
  }
}

void CudaBackend::batch_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                     const Tensor& set_index, const BatchNormParams& p,
                                     Tensor& running_mean, Tensor& running_var, Tensor& y,
                                     Tensor& save_mean, Tensor& save_invstd) {
  const char* op = "batch_norm";
  int64_t N = x.size(0), C = x.size(1), L = N * C ? x.numel() / (N * C) : 0, S = gamma.size(0);
  const float *px = cf32(op, x), *pg = cf32(op, gamma), *pb = cf32(op, beta);
  float *rm = f32(op, running_mean), *rv = f32(op, running_var), *py = f32(op, y);
  float *sm = f32(op, save_mean), *si = f32(op, save_invstd);
  const int32_t* sets = ci32(op, set_index);
  if (x.numel() == 0) return;
  const double M = static_cast<double>(N * L);
  if (p.training) {
    Tensor part = scratch({N * C});
    float* pp = f32(op, part);
    bn_plane_sums_kernel<<<blocks_for(N * C * 32), kThreads, 0, stream()>>>(px, nullptr, pp, N * C, C, L);
    cudaLaunchCheck();
    bn_mean_kernel<<<blocks_for(C), kThreads, 0, stream()>>>(pp, sm, N, C, M);
    cudaLaunchCheck();
    bn_plane_sums_kernel<<<blocks_for(N * C * 32), kThreads, 0, stream()>>>(px, sm, pp, N * C, C, L);
    cudaLaunchCheck();
    bn_var_kernel<<<blocks_for(C), kThreads, 0, stream()>>>(pp, sm, si, rm, rv, N, C, M, p.momentum, p.eps);
    cudaLaunchCheck();
  } else {
    bn_eval_stats_kernel<<<blocks_for(C), kThreads, 0, stream()>>>(rm, rv, sm, si, C, p.eps);
    cudaLaunchCheck();
  }
  bn_apply_kernel<<<blocks_for(x.numel()), kThreads, 0, stream()>>>(px, pg, pb, sets, sm, si, py, N, C, L,
                                                                    static_cast<int>(S), index_error_flag());
  cudaLaunchCheck();
}

void CudaBackend::batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                      const Tensor& save_mean, const Tensor& save_invstd,
                                      const Tensor& dy, bool training, Tensor* dx, Tensor* dgamma,
                                      Tensor* dbeta) {
  const char* op = "batch_norm_backward";
  int64_t N = x.size(0), C = x.size(1), L = N * C ? x.numel() / (N * C) : 0, S = gamma.size(0);
  const float *px = cf32(op, x), *pg = cf32(op, gamma), *pdy = cf32(op, dy);
  const float *sm = cf32(op, save_mean), *si = cf32(op, save_invstd);
  const int32_t* sets = ci32(op, set_index);
  float* pdx = dx ? f32(op, *dx) : nullptr;
  float* pdg = dgamma ? f32(op, *dgamma) : nullptr;
  float* pdb = dbeta ? f32(op, *dbeta) : nullptr;
  if (x.numel() == 0) {
    if (pdg) fill(*dgamma, 0.0);
    if (pdb) fill(*dbeta, 0.0);
    return;
  }
  const double M = static_cast<double>(N * L);
  bool need_parts = pdg || pdb || (pdx && training);
  Tensor pa, pb;
  if (need_parts) {
    pa = scratch({N, C});
    pb = scratch({N, C});
    bn_backward_planes_kernel<<<blocks_for(N * C * 32), kThreads, 0, stream()>>>(
        px, pdy, sm, si, f32(op, pa), f32(op, pb), N * C, C, L);
    cudaLaunchCheck();
    if (pdg) sets_reduce(stream(), cf32(op, pa), sets, pdg, N, S, C);
    if (pdb) sets_reduce(stream(), cf32(op, pb), sets, pdb, N, S, C);
  }
  if (!pdx) return;
  Tensor m;
  if (training) {
    m = scratch({2, C});
    bn_backward_channel_kernel<<<blocks_for(C), kThreads, 0, stream()>>>(
        cf32(op, pa), cf32(op, pb), pg, sets, f32(op, m), N, C, static_cast<int>(S), M, index_error_flag());
    cudaLaunchCheck();
  }
  bn_dx_kernel<<<blocks_for(x.numel()), kThreads, 0, stream()>>>(px, pdy, pg, sets, sm, si,
                                                                  training ? cf32(op, m) : nullptr, pdx, N, C,
                                                                  L, static_cast<int>(S), index_error_flag());
  cudaLaunchCheck();
}

}  // namespace hc
