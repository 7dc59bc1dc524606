// slice and slice_assign on the GPU: the tensor is [outer, size(dim), inner], and the block of
// rows [start, start+len) of each outer index is one row of a 2-D strided copy (cudaMemcpy2DAsync).
#include "ops/cuda/common_cuda.cuh"

namespace hc {

static void split_at(const Shape& s, int dim, int64_t& outer, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int d = 0; d < dim; ++d) outer *= s[d];
  for (size_t d = dim + 1; d < s.size(); ++d) inner *= s[d];
}

void CudaBackend::slice(const Tensor& x, int dim, int64_t start, Tensor& out) {
  int64_t outer, inner;
  split_at(x.shape(), dim, outer, inner);
  size_t es = dtype_size(x.dtype());
  int64_t xlen = x.shape()[dim], olen = out.shape()[dim];
  size_t width = static_cast<size_t>(olen * inner) * es;
  if (width == 0 || outer == 0) return;
  const char* src = static_cast<const char*>(x.raw_data()) + start * inner * es;
  cudaCheck(cudaMemcpy2DAsync(out.raw_data(), width, src, static_cast<size_t>(xlen * inner) * es, width,
                              static_cast<size_t>(outer), cudaMemcpyDeviceToDevice, stream()));
}

void CudaBackend::slice_assign(const Tensor& src, int dim, int64_t start, Tensor& dst) {
  int64_t outer, inner;
  split_at(dst.shape(), dim, outer, inner);
  size_t es = dtype_size(dst.dtype());
  int64_t dlen = dst.shape()[dim], slen = src.shape()[dim];
  size_t width = static_cast<size_t>(slen * inner) * es;
  if (width == 0 || outer == 0) return;
  char* d = static_cast<char*>(dst.raw_data()) + start * inner * es;
  cudaCheck(cudaMemcpy2DAsync(d, static_cast<size_t>(dlen * inner) * es, src.raw_data(), width, width,
                              static_cast<size_t>(outer), cudaMemcpyDeviceToDevice, stream()));
}

}  // namespace hc
