// set_mean on the GPU: out[s] = mean of the rows n of x [N, F] with set_index[n] == s.
// Set sizes first (one thread per set, over set_index in order), then one thread per output
// element summing its set's rows in order: deterministic, and cheap for the batch sizes of a
// training step (N rows, S sets).
#include "ops/cuda/common_cuda.cuh"

namespace hc {

// count [S]; reports indices outside [0, S) and empty sets.
__global__ void set_count_kernel(const int32_t* idx, int* count, int64_t N, int S, int* flag, IndexErrorOp op) {
  GRID_STRIDE(s, S) {
    int c = 0;
    for (int64_t n = 0; n < N; ++n) {
      if (s == 0) index_ok(flag, op, idx[n], S, n);
      c += idx[n] == s;
    }
    count[s] = c;
    if (c == 0 && atomicCAS(flag, 0, static_cast<int>(IndexErrorOp::SetMeanEmpty)) == 0) {
      flag[1] = static_cast<int>(s);
      __threadfence_system();
    }
  }
}

// out [S, F]
__global__ void set_mean_kernel(const float* x, const int32_t* idx, const int* count, float* out, int64_t N,
                                int S, int64_t F) {
  GRID_STRIDE(i, int64_t(S) * F) {
    int64_t s = i / F, f = i % F;
    float acc = 0.f;
    for (int64_t n = 0; n < N; ++n)
      if (idx[n] == s) acc += x[n * F + f];
    out[i] = count[s] ? acc / static_cast<float>(count[s]) : 0.f;
  }
}

// dx [N, F] = dy[idx[n]] / count[idx[n]]
__global__ void set_mean_backward_kernel(const int32_t* idx, const int* count, const float* dy, float* dx,
                                         int64_t N, int S, int64_t F) {
  GRID_STRIDE(i, N * F) {
    int64_t n = i / F, f = i % F;
    int s = idx[n];
    dx[i] = (s >= 0 && s < S && count[s]) ? dy[s * F + f] / static_cast<float>(count[s]) : 0.f;
  }
}

static Tensor set_counts(CudaBackend& be, const int32_t* idx, int64_t N, int64_t S, IndexErrorOp op) {
  Tensor count = be.scratch({S}, DType::I32);
  set_count_kernel<<<blocks_for(S), kThreads, 0, be.stream()>>>(idx, static_cast<int*>(count.raw_data()), N,
                                                                static_cast<int>(S), be.index_error_flag(), op);
  cudaLaunchCheck();
  return count;
}

void CudaBackend::set_mean(const Tensor& x, const Tensor& set_index, Tensor& out) {
  int64_t N = x.size(0), F = x.size(1), S = out.size(0);
  const float* px = cf32("set_mean", x);
  float* po = f32("set_mean", out);
  const int32_t* idx = ci32("set_mean", set_index);
  if (S == 0) return;
  Tensor count = set_counts(*this, idx, N, S, IndexErrorOp::SetMean);
  if (S * F == 0) return;
  set_mean_kernel<<<blocks_for(S * F), kThreads, 0, stream()>>>(px, idx, static_cast<const int*>(count.raw_data()),
                                                                po, N, static_cast<int>(S), F);
  cudaLaunchCheck();
}

void CudaBackend::set_mean_backward(const Tensor& set_index, const Tensor& dy, Tensor& dx) {
  int64_t N = dx.size(0), F = dx.size(1), S = dy.size(0);
  const float* pdy = cf32("set_mean_backward", dy);
  float* pdx = f32("set_mean_backward", dx);
  const int32_t* idx = ci32("set_mean_backward", set_index);
  if (S == 0 || N * F == 0) return;
  Tensor count = set_counts(*this, idx, N, S, IndexErrorOp::SetMeanBackward);
  set_mean_backward_kernel<<<blocks_for(N * F), kThreads, 0, stream()>>>(
      idx, static_cast<const int*>(count.raw_data()), pdy, pdx, N, static_cast<int>(S), F);
  cudaLaunchCheck();
}

}  // namespace hc
