// Batched matrix products on the GPU through cuBLAS strided-batched GEMM.
//
// cuBLAS is column-major; our tensors are row-major. A row-major [R, C] buffer read column-major
// is its transpose [C, R] with leading dimension C. So out = op(A) op(B) (row-major [M, N]) is
// computed as outᵀ = op(B)ᵀ op(A)ᵀ (column-major [N, M]): B goes first, with the same transpose
// flags, lda = row length of a, ldb = row length of b, ldc = N.
//
// FP32 mode: cublasSgemmStridedBatched (float32 FMA, no TF32). BF16 mode: both inputs are rounded
// to bfloat16 scratch copies and cublasGemmStridedBatchedEx accumulates in float32 into the float32
// output (CUBLAS_COMPUTE_32F), on tensor cores.
#include <climits>

#include "ops/cuda/bf16_cuda.h"
#include "ops/cuda/common_cuda.cuh"

namespace hc {

__global__ void float_to_bf16_kernel(const float* x, __nv_bfloat16* y, int64_t n) {
  GRID_STRIDE(i, n) y[i] = __float2bfloat16_rn(x[i]);
}
__global__ void bf16_to_float_kernel(const __nv_bfloat16* x, float* y, int64_t n) {
  GRID_STRIDE(i, n) y[i] = __bfloat162float(x[i]);
}

void to_bf16(const float* x, __nv_bfloat16* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  float_to_bf16_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, y, n);
  cudaLaunchCheck();
}
void from_bf16(const __nv_bfloat16* x, float* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  bf16_to_float_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, y, n);
  cudaLaunchCheck();
}

Bf16Buffer bf16_buffer(CudaBackend& backend, int64_t n) {
  Bf16Buffer b;
  b.storage = backend.scratch({(n + 1) / 2}, DType::I32);
  b.ptr = static_cast<__nv_bfloat16*>(b.storage.raw_data());
  return b;
}
Bf16Buffer bf16_copy(CudaBackend& backend, const float* x, int64_t n) {
  Bf16Buffer b = bf16_buffer(backend, n);
  to_bf16(x, b.ptr, n, backend.stream());
  return b;
}

static int checked_int(int64_t v, const char* what) {
  HC_CHECK(v >= 0 && v <= INT_MAX, "matmul: ", what, " = ", v, " is too large for cuBLAS");
  return static_cast<int>(v);
}

void CudaBackend::gemm(const float* a, bool trans_a, int64_t a_stride, const float* b, bool trans_b,
                       int64_t b_stride, float* out, int64_t batch, int64_t M, int64_t N, int64_t K,
                       float alpha, float beta, bool allow_bf16) {
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum, out = beta * out (0 when beta is 0, whatever out held); cuBLAS refuses lda = 0
    int64_t n = batch * M * N;
    if (beta == 0.f) cudaCheck(cudaMemsetAsync(out, 0, static_cast<size_t>(n) * sizeof(float), stream()));
    else if (beta != 1.f) {
      unary_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(UnaryOp::Scale, out, beta, out, n);
      cudaLaunchCheck();
    }
    return;
  }
  int m = checked_int(M, "M"), n = checked_int(N, "N"), k = checked_int(K, "K");
  int nb = checked_int(batch, "batch");
  int lda = trans_a ? m : k;  // row length of a: [M, K], or [K, M] when transposed
  int ldb = trans_b ? k : n;  // row length of b: [K, N], or [N, K] when transposed
  cublasOperation_t opa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (mode_ == MathMode::FP32 || !allow_bf16) {
    cublasCheck(cublas_api().sgemm_strided_batched(cublas_, opb, opa, n, m, k, &alpha, b, ldb, b_stride, a, lda,
                                          a_stride, &beta, out, n, M * N, nb));
    return;
  }
  // BF16: round the inputs once (a shared matrix, stride 0, is converted once).
  int64_t a_count = a_stride ? a_stride * batch : M * K;
  int64_t b_count = b_stride ? b_stride * batch : K * N;
  Bf16Buffer ab = bf16_copy(*this, a, a_count), bb = bf16_copy(*this, b, b_count);
  cublasCheck(cublas_api().gemm_strided_batched_ex(cublas_, opb, opa, n, m, k, &alpha, bb.ptr, CUDA_R_16BF, ldb,
                                         b_stride, ab.ptr, CUDA_R_16BF, lda, a_stride, &beta, out,
                                         CUDA_R_32F, n, M * N, nb, CUBLAS_COMPUTE_32F,
                                         CUBLAS_GEMM_DEFAULT));
}

void CudaBackend::matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
                         double beta, Tensor& out) {
  // a: [Ba, ra, ca]; b: [Bb, rb, cb]; out: [Ba, M, N]
  int64_t Ba = a.size(0), ra = a.size(1), ca = a.size(2);
  int64_t Bb = b.size(0), rb = b.size(1), cb = b.size(2);
  int64_t M = out.size(1), N = out.size(2), K = trans_a ? ra : ca;
  HC_CHECK(Bb == Ba || Bb == 1, "matmul: batch ", Bb, " of b against ", Ba, " of a");
  const float* pa = cf32("matmul", a);
  const float* pb = cf32("matmul", b);
  float* po = f32("matmul", out);
  gemm(pa, trans_a, ra * ca, pb, trans_b, Bb == 1 ? 0 : rb * cb, po, Ba, M, N, K,
       static_cast<float>(alpha), static_cast<float>(beta));
}

}  // namespace hc
