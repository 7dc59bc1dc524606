// reduce_sum: sums over the dims where out has size 1 (out keeps x's rank).
//
// reduce_sum_reference is the definition: an odometer over the reduced dims for each output. The
// kernel's fast path covers the shapes training meets, where the reduced dims form one
// contiguous run: x seen as [A, R, C] (A kept dims before, R reduced, C kept after) into
// out [A, C]. Bias gradients are [1, R, C] (sum over rows); norms and the gradient norm are
// [A, R, 1] (sum over contiguous runs).
#include <algorithm>
#include <vector>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/parallel_cpu.h"
#include "ops/cpu/reference_cpu.h"

namespace hc {

void reduce_sum_reference(const Tensor& x, Tensor& out) {
  const Shape& xs = x.shape();
  const Shape& os = out.shape();
  HC_CHECK(xs.size() == os.size(), "reduce_sum: ", x.desc(), " into ", out.desc());
  int rank = static_cast<int>(xs.size());
  std::vector<int64_t> xst = contiguous_strides(xs);
  // Reduced dims (sizes and strides in x), and x's strides seen from out's index space.
  std::vector<int64_t> rsize, rstride, kept_stride(rank, 0);
  for (int d = 0; d < rank; ++d) {
    if (os[d] == 1 && xs[d] != 1) {
      rsize.push_back(xs[d]);
      rstride.push_back(xst[d]);
    } else {
      HC_CHECK(os[d] == xs[d], "reduce_sum: ", x.desc(), " into ", out.desc());
      kept_stride[d] = xst[d];
    }
  }
  int nr = static_cast<int>(rsize.size());
  int64_t count = 1;
  for (int64_t s : rsize) count *= s;
  dispatch_float(x.dtype(), "reduce_sum", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    int64_t n_out = out.numel();
#pragma omp parallel for if (n_out * count > kParallelGrain) schedule(static)
    for (int64_t o = 0; o < n_out; ++o) {
      int64_t base = rank ? offset_of(o, rank, os.data(), kept_stride.data()) : 0;
      double acc = 0;  // double accumulation keeps float32 sums accurate
      std::vector<int64_t> idx(nr, 0);
      for (int64_t k = 0; k < count; ++k) {
        int64_t off = base;
        for (int j = 0; j < nr; ++j) off += idx[j] * rstride[j];
        acc += px[off];
        for (int j = nr - 1; j >= 0; --j) {  // odometer over the reduced dims
          if (++idx[j] < rsize[j]) break;
          idx[j] = 0;
        }
      }
      po[o] = static_cast<T>(acc);
    }
  });
}

// Sums of long contiguous runs are cut into fixed blocks of this many elements, each summed in
// order in double, then the block sums added in order: the result depends on the shape only,
// never on the thread count.
constexpr int64_t kSumBlock = 1 << 15;

void CpuBackend::reduce_sum(const Tensor& x, Tensor& out) {
  const Shape& xs = x.shape();
  const Shape& os = out.shape();
  HC_CHECK(xs.size() == os.size(), "reduce_sum: ", x.desc(), " into ", out.desc());
  int rank = static_cast<int>(xs.size());
  // Find the run of reduced dims [first, last]; size-1 dims count as either.
  int first = -1, last = -1;
  for (int d = 0; d < rank; ++d) {
    HC_CHECK(os[d] == xs[d] || os[d] == 1, "reduce_sum: ", x.desc(), " into ", out.desc());
    if (os[d] != xs[d]) {
      if (first < 0) first = d;
      last = d;
    }
  }
  bool contiguous_run = true;
  for (int d = first + 1; first >= 0 && d < last; ++d)
    if (os[d] != 1 && xs[d] != 1) contiguous_run = false;
  if (first < 0 || !contiguous_run || reference_kernels()) return reduce_sum_reference(x, out);
  int64_t A = 1, R = 1, C = 1;
  for (int d = 0; d < first; ++d) A *= xs[d];
  for (int d = first; d <= last; ++d) R *= xs[d];
  for (int d = last + 1; d < rank; ++d) C *= xs[d];

  dispatch_float(x.dtype(), "reduce_sum", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    if (C == 1 && R > kSumBlock) {
      // Long contiguous runs (sum_all): fixed blocks in parallel, then in order.
      int64_t blocks = (R + kSumBlock - 1) / kSumBlock;
      std::vector<double> part(A * blocks);
#pragma omp parallel for schedule(static)
      for (int64_t ab = 0; ab < A * blocks; ++ab) {
        int64_t a = ab / blocks, b = ab % blocks;
        const T* p = px + a * R + b * kSumBlock;
        int64_t n = std::min(kSumBlock, R - b * kSumBlock);
        double acc = 0;
        for (int64_t i = 0; i < n; ++i) acc += p[i];
        part[ab] = acc;
      }
      for (int64_t a = 0; a < A; ++a) {
        double acc = 0;
        for (int64_t b = 0; b < blocks; ++b) acc += part[a * blocks + b];
        po[a] = static_cast<T>(acc);
      }
    } else if (C == 1) {
      // Short contiguous runs: one output per run, in x's order (as the reference).
#pragma omp parallel for if (A * R > kParallelGrain) schedule(static)
      for (int64_t a = 0; a < A; ++a) {
        const T* p = px + a * R;
        double acc = 0;
        for (int64_t i = 0; i < R; ++i) acc += p[i];
        po[a] = static_cast<T>(acc);
      }
    } else {
      // Sum over rows of [R, C] blocks: the threads share out the columns, and each walks the rows
      // in order with a row of double accumulators (contiguous reads, the reference's order).
      int64_t tile = 256;
      int64_t tiles = (C + tile - 1) / tile;
#pragma omp parallel for if (A * R * C > kParallelGrain) schedule(static)
      for (int64_t at = 0; at < A * tiles; ++at) {
        int64_t a = at / tiles, c0 = (at % tiles) * tile, nc = std::min(tile, C - c0);
        double acc[256] = {0};
        const T* p = px + a * R * C + c0;
        for (int64_t r = 0; r < R; ++r, p += C)
          for (int64_t c = 0; c < nc; ++c) acc[c] += p[c];
        for (int64_t c = 0; c < nc; ++c) po[a * C + c0 + c] = static_cast<T>(acc[c]);
      }
    }
  });
}

}  // namespace hc
