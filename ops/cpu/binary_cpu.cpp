// Broadcasting add, sub, mul, div.
#include <vector>

#include "ops/cpu/backend_cpu.h"
#include "ops/kernel_shapes.h"
#include "ops/scalar_math.h"
#include "ops/cpu/parallel_cpu.h"

namespace hc {

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(out.dtype(), binary_op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    int64_t n = out.numel();
    if (a.shape() == out.shape() && b.shape() == out.shape()) {
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
      for (int64_t i = 0; i < n; ++i) po[i] = binary_apply(op, pa[i], pb[i]);
      return;
    }
    if (a.shape() == out.shape() && b.numel() == 1) {
      T s = pb[0];
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
      for (int64_t i = 0; i < n; ++i) po[i] = binary_apply(op, pa[i], s);
      return;
    }
    // General case, row by row over the last dim: each row's start is found by index arithmetic,
    // then the inner loop steps by 0 or 1 in each input.
    const Shape& os = out.shape();
    int rank = static_cast<int>(os.size());
    if (rank == 0) {
      po[0] = binary_apply(op, pa[0], pb[0]);
      return;
    }
    std::vector<int64_t> sa = broadcast_strides(a.shape(), os), sb = broadcast_strides(b.shape(), os);
    int64_t inner = os[rank - 1];
    int64_t rows = n / inner;
    int64_t ia = sa[rank - 1], ib = sb[rank - 1];
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t oa = offset_of(r * inner, rank, os.data(), sa.data());
      int64_t ob = offset_of(r * inner, rank, os.data(), sb.data());
      T* prow = po + r * inner;
      for (int64_t j = 0; j < inner; ++j) prow[j] = binary_apply(op, pa[oa + j * ia], pb[ob + j * ib]);
    }
  });
}

void CpuBackend::expand(const Tensor& x, Tensor& out) {
  dispatch_float(out.dtype(), "expand", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const Shape& os = out.shape();
    int rank = static_cast<int>(os.size());
    int64_t n = out.numel();
    if (rank == 0 || x.numel() == n) {
      for (int64_t i = 0; i < n; ++i) po[i] = px[i];
      return;
    }
    std::vector<int64_t> sx = broadcast_strides(x.shape(), os);
    int64_t inner = os[rank - 1], rows = n / inner, ix = sx[rank - 1];
#pragma omp parallel for if (n > kParallelGrain) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t o = offset_of(r * inner, rank, os.data(), sx.data());
      for (int64_t j = 0; j < inner; ++j) po[r * inner + j] = px[o + j * ix];
    }
  });
}

}  // namespace hc
