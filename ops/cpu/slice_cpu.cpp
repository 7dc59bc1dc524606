// slice and slice_assign: contiguous blocks copied along one dim (used by slice and concat).
#include <cstring>

#include "ops/cpu/backend_cpu.h"
#include "ops/kernel_shapes.h"

namespace hc {

void CpuBackend::slice(const Tensor& x, int dim, int64_t start, Tensor& out) {
  int64_t outer, inner;
  split_at(x.shape(), dim, outer, inner);
  size_t es = dtype_size(x.dtype());
  int64_t xlen = x.shape()[dim], olen = out.shape()[dim];
  const char* px = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(po + o * olen * inner * es, px + (o * xlen + start) * inner * es, olen * inner * es);
}

void CpuBackend::slice_assign(const Tensor& src, int dim, int64_t start, Tensor& dst) {
  int64_t outer, inner;
  split_at(dst.shape(), dim, outer, inner);
  size_t es = dtype_size(dst.dtype());
  int64_t dlen = dst.shape()[dim], slen = src.shape()[dim];
  const char* ps = static_cast<const char*>(src.raw_data());
  char* pd = static_cast<char*>(dst.raw_data());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(pd + (o * dlen + start) * inner * es, ps + o * slen * inner * es, slen * inner * es);
}

}  // namespace hc
