// reduce_sum: sums over the dims where out has size 1 (out keeps x's rank).
#include <vector>

#include "core/backend_cpu.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

void CpuBackend::reduce_sum(const Tensor& x, Tensor& out) {
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

}  // namespace hc
