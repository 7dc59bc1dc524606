// float32 <-> bfloat16 conversions for the bf16 mixed-precision path (ops/cuda/matmul_cuda.cu).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/cuda/backend_cuda.h"

namespace hc {

// y [n] = bf16(x [n]), round to nearest even.
void to_bf16(const float* x, __nv_bfloat16* y, int64_t n, cudaStream_t stream);
// y [n] = float(x [n]), exact.
void from_bf16(const __nv_bfloat16* x, float* y, int64_t n, cudaStream_t stream);

// A bf16 scratch buffer of n elements from the backend's caching allocator (kept alive by the
// returned tensor, an int32 tensor of ceil(n/2) elements: the engine has no bf16 dtype).
struct Bf16Buffer {
  Tensor storage;
  __nv_bfloat16* ptr = nullptr;
};
Bf16Buffer bf16_buffer(CudaBackend& backend, int64_t n);
// bf16_buffer filled with bf16(x [n]).
Bf16Buffer bf16_copy(CudaBackend& backend, const float* x, int64_t n);

}  // namespace hc
