// fill and cast on the GPU.
#include "ops/cuda/common_cuda.cuh"

namespace hc {

// out [n] = value, for any 4-byte element (the bit pattern is prepared on the host).
__global__ void fill_kernel(uint32_t* out, int64_t n, uint32_t bits) {
  GRID_STRIDE(i, n) out[i] = bits;
}

__global__ void int_to_float_kernel(const int32_t* x, float* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = static_cast<float>(x[i]);
}

void CudaBackend::fill(Tensor& out, double value) {
  int64_t n = out.numel();
  if (n == 0) return;
  uint32_t bits;
  if (out.dtype() == DType::F32) {
    float f = static_cast<float>(value);
    memcpy(&bits, &f, 4);
  } else if (out.dtype() == DType::I32) {
    int32_t i = static_cast<int32_t>(value);
    memcpy(&bits, &i, 4);
  } else {
    require_f32("fill", out);
    return;
  }
  fill_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(static_cast<uint32_t*>(out.raw_data()), n, bits);
  cudaLaunchCheck();
}

void CudaBackend::cast(const Tensor& x, Tensor& out) {
  HC_CHECK(x.numel() == out.numel(), "cast: ", x.desc(), " into ", out.desc());
  float* po = f32("cast", out);
  int64_t n = x.numel();
  if (x.dtype() == DType::F32) {
    copy_on_device(po, x.raw_data(), static_cast<size_t>(n) * 4);
  } else if (x.dtype() == DType::I32) {
    if (n == 0) return;
    int_to_float_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(ci32("cast", x), po, n);
    cudaLaunchCheck();
  } else {
    require_f32("cast", x);
  }
}

}  // namespace hc
