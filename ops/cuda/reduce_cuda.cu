// reduce_sum on the GPU: sums x over the dims where out has size 1 (out keeps x's rank).
// Many outputs: one thread per output, looping over its reduced elements. Few outputs (e.g. a
// bias gradient [R, D] -> [1, D] with small D, or a full sum): one block per output.
#include <vector>

#include "ops/cuda/common_cuda.cuh"

namespace hc {

struct ReduceLayout {
  Strided kept;                 // kept.shape: out's shape; kept.a: x's strides on kept dims
  int nr = 0;                   // number of reduced dims
  int64_t rsize[kMaxRank] = {};
  int64_t rstride[kMaxRank] = {};
};

// Offset in x of the k-th element (row-major over the reduced dims) of an output's group.
__device__ inline int64_t reduced_offset(const ReduceLayout& L, int64_t k) {
  int64_t off = 0;
  for (int j = L.nr - 1; j >= 0; --j) {
    off += (k % L.rsize[j]) * L.rstride[j];
    k /= L.rsize[j];
  }
  return off;
}

// out [n_out]: thread o sums count elements of x.
__global__ void reduce_thread_kernel(const float* x, float* out, int64_t n_out, int64_t count, ReduceLayout L) {
  GRID_STRIDE(o, n_out) {
    int64_t base, unused;
    offsets_of(L.kept, o, base, unused);
    double acc = 0;  // a long serial sum: double keeps it as accurate as the CPU's
    for (int64_t k = 0; k < count; ++k) acc += x[base + reduced_offset(L, k)];
    out[o] = static_cast<float>(acc);
  }
}

// out [n_out]: block o sums count elements of x (blockDim.x threads, tree reduction).
__global__ void reduce_block_kernel(const float* x, float* out, int64_t count, ReduceLayout L) {
  int64_t o = blockIdx.x;
  int64_t base, unused;
  offsets_of(L.kept, o, base, unused);
  float acc = 0.f;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) acc += x[base + reduced_offset(L, k)];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[o] = acc;
}

void CudaBackend::reduce_sum(const Tensor& x, Tensor& out) {
  const Shape& xs = x.shape();
  const Shape& os = out.shape();
  HC_CHECK(xs.size() == os.size(), "reduce_sum: ", x.desc(), " into ", out.desc());
  HC_CHECK(xs.size() <= kMaxRank, "reduce_sum: rank ", xs.size(), " is above the CUDA limit ", kMaxRank);
  const float* px = cf32("reduce_sum", x);
  float* po = f32("reduce_sum", out);
  int rank = static_cast<int>(xs.size());
  std::vector<int64_t> xst = contiguous_strides(xs);
  ReduceLayout L;
  L.kept.rank = rank;
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    L.kept.shape[d] = os[d];
    if (os[d] == 1 && xs[d] != 1) {
      L.rsize[L.nr] = xs[d];
      L.rstride[L.nr] = xst[d];
      ++L.nr;
      count *= xs[d];
    } else {
      HC_CHECK(os[d] == xs[d], "reduce_sum: ", x.desc(), " into ", out.desc());
      L.kept.a[d] = xst[d];
    }
  }
  int64_t n_out = out.numel();
  if (n_out == 0) return;
  if (count == 0) {
    fill(out, 0.0);
    return;
  }
  if (n_out >= 2048 || count < 64) {
    reduce_thread_kernel<<<blocks_for(n_out), kThreads, 0, stream()>>>(px, po, n_out, count, L);
  } else {
    reduce_block_kernel<<<static_cast<unsigned>(n_out), 256, 0, stream()>>>(px, po, count, L);
  }
  cudaLaunchCheck();
}

}  // namespace hc
