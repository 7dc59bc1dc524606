// slice and slice_assign on the GPU: the tensor is [outer, size(dim), inner], and the block of
// rows [start, start+len) of each outer index is one row of a 2-D strided copy (cudaMemcpy2DAsync).
// One row (outer == 1, a slice along dim 0) is a plain copy; a pitch over the device's memPitch
// (about 2 GiB, which cudaMemcpy2DAsync refuses) goes through a word-copy kernel instead.
#include "ops/cuda/common_cuda.cuh"

namespace hc {

// dst row r (width bytes at dst + r*dpitch) = src row r (at src + r*spitch), r < rows; 4-byte words
// (every dtype is 4 or 8 bytes wide, so width and both pitches are multiples of 4).
__global__ void strided_copy_kernel(uint32_t* dst, int64_t dpitch, const uint32_t* src, int64_t spitch,
                                    int64_t width, int64_t rows) {
  GRID_STRIDE(i, width * rows) {
    int64_t r = i / width, c = i % width;
    dst[r * dpitch + c] = src[r * spitch + c];
  }
}

// width bytes of each of rows rows, from src (row pitch spitch) to dst (row pitch dpitch).
static void copy_rows(CudaBackend& be, void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                      size_t rows) {
  if (rows == 1) {
    cudaCheck(cudaMemcpyAsync(dst, src, width, cudaMemcpyDeviceToDevice, be.stream()));
    return;
  }
  size_t limit = be.properties().memPitch;
  if (dpitch <= limit && spitch <= limit) {
    cudaCheck(cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, rows, cudaMemcpyDeviceToDevice, be.stream()));
    return;
  }
  HC_CHECK(width % 4 == 0 && dpitch % 4 == 0 && spitch % 4 == 0, "slice: a strided copy of ", width,
           " bytes per row is not in 4-byte words");
  int64_t w = static_cast<int64_t>(width / 4), n = w * static_cast<int64_t>(rows);
  strided_copy_kernel<<<blocks_for(n), kThreads, 0, be.stream()>>>(
      static_cast<uint32_t*>(dst), static_cast<int64_t>(dpitch / 4), static_cast<const uint32_t*>(src),
      static_cast<int64_t>(spitch / 4), w, static_cast<int64_t>(rows));
  cudaLaunchCheck();
}

void CudaBackend::slice(const Tensor& x, int dim, int64_t start, Tensor& out) {
  int64_t outer, inner;
  split_at(x.shape(), dim, outer, inner);
  size_t es = dtype_size(x.dtype());
  int64_t xlen = x.shape()[dim], olen = out.shape()[dim];
  size_t width = static_cast<size_t>(olen * inner) * es;
  if (width == 0 || outer == 0) return;
  const char* src = static_cast<const char*>(x.raw_data()) + start * inner * es;
  copy_rows(*this, out.raw_data(), width, src, static_cast<size_t>(xlen * inner) * es, width,
            static_cast<size_t>(outer));
}

void CudaBackend::slice_assign(const Tensor& src, int dim, int64_t start, Tensor& dst) {
  int64_t outer, inner;
  split_at(dst.shape(), dim, outer, inner);
  size_t es = dtype_size(dst.dtype());
  int64_t dlen = dst.shape()[dim], slen = src.shape()[dim];
  size_t width = static_cast<size_t>(slen * inner) * es;
  if (width == 0 || outer == 0) return;
  char* d = static_cast<char*>(dst.raw_data()) + start * inner * es;
  copy_rows(*this, d, static_cast<size_t>(dlen * inner) * es, src.raw_data(), width, width,
            static_cast<size_t>(outer));
}

}  // namespace hc
