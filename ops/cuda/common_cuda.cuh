// Helpers shared by the CUDA kernels: typed pointers with dtype checks, launch sizes, warp and
// block reductions, and the in-kernel index check.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/cuda/backend_cuda.h"
#include "ops/cuda/cuda_check.h"
#include "ops/kernel_shapes.h"

namespace hc {

constexpr int kThreads = 256;  // block size of the elementwise kernels

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never over the grid limit.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  const int64_t cap = int64_t(1) << 20;
  return static_cast<unsigned>(b < cap ? b : cap);
}

// The CUDA backend computes in float32: other float dtypes are refused by name.
inline void require_f32(const char* op, const Tensor& t) {
  HC_CHECK(t.dtype() == DType::F32, "op '", op, "' on the CUDA backend needs float32 tensors, got ",
           t.desc(), " (float64 runs only on the CPU)");
}
inline const float* cf32(const char* op, const Tensor& t) {
  require_f32(op, t);
  return static_cast<const float*>(t.raw_data());
}
inline float* f32(const char* op, const Tensor& t) {
  require_f32(op, t);
  return static_cast<float*>(t.raw_data());
}
// Index tensors; nullptr for an undefined (optional) set_index.
inline const int32_t* ci32(const char* op, const Tensor& t) {
  if (!t.defined()) return nullptr;
  HC_CHECK(t.dtype() == DType::I32, "op '", op, "' needs an int32 index tensor, got ", t.desc());
  return static_cast<const int32_t*>(t.raw_data());
}

#define GRID_STRIDE(i, n)                                                                      \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);                    \
       i += int64_t(blockDim.x) * gridDim.x)

// One warp per item: every lane of a warp gets the same w, so warp shuffles stay legal (blockDim.x
// must be a multiple of 32). Launch with blocks_for(n * 32).
#define WARP_STRIDE(w, n)                                                                      \
  for (int64_t w = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32; w < (n);             \
       w += int64_t(blockDim.x) * gridDim.x / 32)

__device__ inline float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}
__device__ inline float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// Sum over the block; every thread gets the result. blockDim.x must be a multiple of 32 (<= 1024).
// Uses a 32-float shared array; safe to call repeatedly (it synchronises before reusing it).
__device__ inline float block_sum(float v) {
  __shared__ float partial[32];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // an earlier call may still be reading partial
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < warps ? partial[lane] : 0.f;
  return warp_sum(v);
}

// y [n] = op(x [n]), y may alias x (defined in unary_cuda.cu; other kernels' files launch it too).
__global__ void unary_kernel(UnaryOp op, const float* x, float alpha, float* y, int64_t n);

// Checks value in [0, bound); on failure records the first error in the backend's flag (see
// CudaBackend::index_error_flag) and returns false, and the caller skips the element.
__device__ inline bool index_ok(int* flag, IndexErrorOp op, int value, int bound, int64_t pos) {
  if (value >= 0 && value < bound) return true;
  if (atomicCAS(flag, 0, static_cast<int>(op)) == 0) {
    flag[1] = value;
    flag[2] = bound;
    flag[3] = static_cast<int>(pos);
    __threadfence_system();
  }
  return false;
}

// Sample n's set (0 without a set_index), checked against S. -1 when out of range.
__device__ inline int set_of(const int32_t* set_index, int64_t n, int S, int* flag, IndexErrorOp op) {
  if (!set_index) return 0;
  int s = set_index[n];
  return index_ok(flag, op, s, S, n) ? s : -1;
}

// Shapes and strides for broadcasting and permutation kernels, passed by value.
constexpr int kMaxRank = 8;
struct Strided {
  int rank = 0;
  int64_t shape[kMaxRank] = {};  // the output's shape
  int64_t a[kMaxRank] = {};      // first input's strides in output coordinates (0: broadcast)
  int64_t b[kMaxRank] = {};      // second input's
};

// The Strided a broadcasting kernel gets: out's shape and the strides of a (and b, if given) in
// out's coordinates (ops/kernel_shapes.h).
inline Strided broadcast_layout(const char* op, const Shape& out, const Shape& a, const Shape* b = nullptr) {
  HC_CHECK(out.size() <= kMaxRank, op, ": rank ", out.size(), " is above the CUDA limit ", kMaxRank);
  Strided s;
  s.rank = static_cast<int>(out.size());
  std::vector<int64_t> sa = broadcast_strides(a, out), sb = b ? broadcast_strides(*b, out) : sa;
  for (int d = 0; d < s.rank; ++d) s.shape[d] = out[d], s.a[d] = sa[d], s.b[d] = sb[d];
  return s;
}

__device__ inline void offsets_of(const Strided& s, int64_t linear, int64_t& oa, int64_t& ob) {
  oa = 0;
  ob = 0;
  for (int d = s.rank - 1; d >= 0; --d) {
    int64_t i = linear % s.shape[d];
    linear /= s.shape[d];
    oa += i * s.a[d];
    ob += i * s.b[d];
  }
}

}  // namespace hc
