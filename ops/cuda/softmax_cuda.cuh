// Row softmax kernels, shared by softmax and attention (which adds the causal mask).
#pragma once
#include "ops/cuda/common_cuda.cuh"

namespace hc {

// y [R, D] = softmax of each row of x [R, D]; y may alias x. With causal_T > 0 the rows are the
// [T, T] score matrices of attention stacked: row r is query i = r % T, and keys j > i are masked
// (their probability is exactly 0).
void softmax_rows(cudaStream_t stream, const float* x, float* y, int64_t R, int64_t D, int64_t causal_T);
// dx [R, D] = y * (dy - rowsum(dy * y)); dx may alias dy.
void softmax_backward_rows(cudaStream_t stream, const float* y, const float* dy, float* dx, int64_t R, int64_t D);

}  // namespace hc
