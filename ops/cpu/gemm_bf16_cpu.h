// The CPU's bfloat16 matrix product (MathMode::BF16): both factors rounded to bfloat16 (round to
// nearest even), products accumulated in float32. On a CPU with AVX-512 BF16 (built with
// -march=native there) a micro-kernel of _mm512_dpbf16_ps does it; elsewhere the rounded factors
// go through the float32 product, which gives the same products (a product of two bfloat16 values
// is exact in float32) summed in another order.
#pragma once
#include <cstdint>

namespace hc {

// C [M, N] (row stride ldc) = alpha * op(A) op(B) + beta * C on one thread, with op(A) [M, K] =
// A (row stride lda) or Aᵀ when trans_a, op(B) [K, N] = B (row stride ldb) or Bᵀ when trans_b.
// beta == 0 never reads C. Packing buffers are per thread and kept: no allocation after the
// first call of a size.
void gemm_bf16(const float* A, bool trans_a, int64_t lda, const float* B, bool trans_b, int64_t ldb, float alpha,
               float beta, float* C, int64_t ldc, int64_t M, int64_t N, int64_t K);

// The same cut into one block of C per thread (rows or columns, as the float32 products), for
// a product that runs alone.
void gemm_bf16_threads(const float* A, bool trans_a, int64_t lda, const float* B, bool trans_b, int64_t ldb,
                       float alpha, float beta, float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, int threads);

// x rounded to the nearest bfloat16 (ties to even), as its upper 16 bits.
uint16_t bf16_bits(float x);
float bf16_round(float x);  // x rounded to bfloat16, widened back

// "avx512_bf16 (_mm512_dpbf16_ps)" or "float32 products of bf16-rounded inputs".
const char* gemm_bf16_kernel();

}  // namespace hc
