// The bfloat16 product (ops/cpu/gemm_bf16_cpu.h). GotoBLAS blocking, written small:
//   for each block of KC depths:   pack op(B) [KC, N] into panels of 32 columns, depth pairs
//                                  interleaved (one 64-byte row = 32 columns x 2 depths);
//     for each block of MC rows:   pack op(A) [MC, KC] into panels of 12 rows, one 32-bit word
//                                  per (row, depth pair);
//       for each 12 x 32 tile:     24 float32 accumulators; per depth pair, 2 loads of B,
//                                  12 broadcasts of A and 24 _mm512_dpbf16_ps
//                                  (acc[i] += a.lo*b.lo[i] + a.hi*b.hi[i], 16 lanes).
// Factors are rounded to bfloat16 while packing. Odd depths and edge rows/columns are padded with
// zeros, whose products add nothing.
#include "ops/cpu/gemm_bf16_cpu.h"
#include "ops/cpu/gemm_blocks.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define HC_DPBF16 1
#endif

#ifdef HC_OPENBLAS
extern "C" void cblas_sgemm(int layout, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a,
                            int lda, const float* b, int ldb, float beta, float* c, int ldc);
#else
#include <Eigen/Core>
#endif

namespace hc {

uint16_t bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float bf16_round(float x) {
  uint32_t u = static_cast<uint32_t>(bf16_bits(x)) << 16;
  float y;
  std::memcpy(&y, &u, 4);
  return y;
}

namespace {

constexpr int64_t MR = 12, NR = 32;  // the micro-kernel's tile
constexpr int64_t KC = 256;          // depths per packed block (128 pairs)
constexpr int64_t MC = 96;           // rows per packed block of A

// op(X)(r, c) of a row-major X with row stride ld.
inline float at(const float* X, bool trans, int64_t ld, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

struct PackBuffers {
  std::vector<uint32_t> a;  // [MC/MR panels][KC/2 pairs][MR]
  std::vector<uint16_t> b;  // [N/NR panels][KC/2 pairs][NR][2]
  std::vector<float> rounded_a, rounded_b;  // the fallback's rounded factors
};
PackBuffers& buffers() {
  thread_local PackBuffers bufs;
  return bufs;
}

#ifdef HC_DPBF16
// 16 floats of lo and 16 of hi -> 16 words lo[i] | hi[i] << 16 (bf16, round to nearest even).
inline __m512i pair_words(__m512 lo, __m512 hi) {
  __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // [lo0..lo15 | hi0..hi15]
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, both);
}

// op(B)[k0 : k0+kc, 0:N] -> panels of NR columns, pairs (k, k+1) interleaved per column.
void pack_b(const float* B, bool trans, int64_t ld, int64_t k0, int64_t kc, int64_t K, int64_t N, uint16_t* dst) {
  int64_t pairs = (kc + 1) / 2, panels = (N + NR - 1) / NR;
  for (int64_t j = 0; j < panels; ++j)
    for (int64_t p = 0; p < pairs; ++p) {
      uint16_t* d = dst + (j * pairs + p) * NR * 2;
      int64_t k = k0 + 2 * p;
      if (!trans && j * NR + NR <= N && k + 1 < K) {  // two full rows of 32 columns: vectorised
        const float* r0 = B + k * ld + j * NR;
        const float* r1 = r0 + ld;
        for (int h = 0; h < 2; ++h)
          _mm512_storeu_si512(d + 32 * h, pair_words(_mm512_loadu_ps(r0 + 16 * h), _mm512_loadu_ps(r1 + 16 * h)));
        continue;
      }
      for (int64_t c = 0; c < NR; ++c) {
        int64_t n = j * NR + c;
        d[2 * c] = (n < N && k < K) ? bf16_bits(at(B, trans, ld, k, n)) : 0;
        d[2 * c + 1] = (n < N && k + 1 < K) ? bf16_bits(at(B, trans, ld, k + 1, n)) : 0;
      }
    }
}

// op(A)[m0 : m0+mc, k0 : k0+kc] -> panels of MR rows, one word (k, k+1) per row and pair.
void pack_a(const float* A, bool trans, int64_t ld, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int64_t K,
            uint32_t* dst) {
  int64_t pairs = (kc + 1) / 2, panels = (mc + MR - 1) / MR;
  for (int64_t i = 0; i < panels; ++i) {
    uint32_t* panel = dst + i * pairs * MR;
    int64_t rows = std::min(MR, mc - i * MR);
    if (trans && rows == MR) {
      // op(A) = Aᵀ: depth k is row k of A, the panel's 12 rows are 12 consecutive floats of it.
      const __mmask16 m12 = 0x0fff;
      for (int64_t p = 0; p < pairs; ++p) {
        int64_t k = k0 + 2 * p;
        const float* r0 = A + k * ld + m0 + i * MR;
        __m512 lo = _mm512_maskz_loadu_ps(m12, r0);
        __m512 hi = k + 1 < K ? _mm512_maskz_loadu_ps(m12, r0 + ld) : _mm512_setzero_ps();
        _mm512_mask_storeu_epi32(panel + p * MR, m12, pair_words(lo, hi));
      }
      continue;
    }
    for (int64_t r = 0; r < MR; ++r) {
      int64_t m = m0 + i * MR + r;
      uint32_t* d = panel + r;
      if (r >= rows) {
        for (int64_t p = 0; p < pairs; ++p) d[p * MR] = 0;
        continue;
      }
      int64_t p = 0;
      if (!trans) {
        // Row m of A holds the depths in order: 32 floats make 16 pair words.
        const float* row = A + m * ld + k0;
        for (; 2 * p + 32 <= kc; p += 16) {
          alignas(64) uint32_t w[16];
          _mm512_store_si512(w, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 2 * p + 16),
                                                             _mm512_loadu_ps(row + 2 * p)));
          for (int x = 0; x < 16; ++x) d[(p + x) * MR] = w[x];
        }
      }
      for (; p < pairs; ++p) {
        int64_t k = k0 + 2 * p;
        uint32_t lo = bf16_bits(at(A, trans, ld, m, k));
        uint32_t hi = k + 1 < K ? bf16_bits(at(A, trans, ld, m, k + 1)) : 0;
        d[p * MR] = lo | (hi << 16);
      }
    }
  }
}

// tile [MR, NR] = Σ over `pairs` depth pairs of a-panel ⊗ b-panel.
inline void micro_kernel(int64_t pairs, const uint32_t* a, const uint16_t* b, float* tile) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; ++p) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * NR * 2);
    __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + p * NR * 2 + 32);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[p * MR + r]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    _mm512_storeu_ps(tile + r * NR, acc[r][0]);
    _mm512_storeu_ps(tile + r * NR + 16, acc[r][1]);
  }
}
#endif

}  // namespace

void gemm_bf16(const float* A, bool trans_a, int64_t lda, const float* B, bool trans_b, int64_t ldb, float alpha,
               float beta, float* C, int64_t ldc, int64_t M, int64_t N, int64_t K) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = beta == 0.f ? 0.f : beta * C[m * ldc + n];
    return;
  }
  PackBuffers& buf = buffers();
#ifdef HC_DPBF16
  int64_t npanels = (N + NR - 1) / NR;
  buf.b.resize(std::max<size_t>(buf.b.size(), npanels * (KC / 2) * NR * 2));
  buf.a.resize(std::max<size_t>(buf.a.size(), (MC / MR) * (KC / 2) * MR));
  alignas(64) float tile[MR * NR];
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    int64_t kc = std::min(KC, K - k0), pairs = (kc + 1) / 2;
    bool first = k0 == 0;
    pack_b(B, trans_b, ldb, k0, kc, K, N, buf.b.data());
    for (int64_t m0 = 0; m0 < M; m0 += MC) {
      int64_t mc = std::min(MC, M - m0);
      pack_a(A, trans_a, lda, m0, mc, k0, kc, K, buf.a.data());
      for (int64_t j = 0; j < npanels; ++j) {
        int64_t n0 = j * NR, nn = std::min(NR, N - n0);
        for (int64_t i = 0; i * MR < mc; ++i) {
          int64_t mm = std::min(MR, mc - i * MR);
          micro_kernel(pairs, buf.a.data() + i * pairs * MR, buf.b.data() + j * pairs * NR * 2, tile);
          for (int64_t r = 0; r < mm; ++r) {
            float* c = C + (m0 + i * MR + r) * ldc + n0;
            const float* t = tile + r * NR;
            if (!first) {
              for (int64_t x = 0; x < nn; ++x) c[x] += alpha * t[x];
            } else if (beta == 0.f) {
              for (int64_t x = 0; x < nn; ++x) c[x] = alpha * t[x];
            } else {
              for (int64_t x = 0; x < nn; ++x) c[x] = alpha * t[x] + beta * c[x];
            }
          }
        }
      }
    }
  }
#else
  // Round the factors to bfloat16 (as float32 values) and multiply in float32.
  buf.rounded_a.resize(M * K);
  buf.rounded_b.resize(K * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) buf.rounded_a[m * K + k] = bf16_round(at(A, trans_a, lda, m, k));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) buf.rounded_b[k * N + n] = bf16_round(at(B, trans_b, ldb, k, n));
#ifdef HC_OPENBLAS
  cblas_sgemm(101, 111, 111, int(M), int(N), int(K), alpha, buf.rounded_a.data(), int(K), buf.rounded_b.data(), int(N),
              beta, C, int(ldc));
#else
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMat> RA(buf.rounded_a.data(), M, K), RB(buf.rounded_b.data(), K, N);
  Eigen::Map<RowMat, 0, Eigen::OuterStride<>> RC(C, M, N, Eigen::OuterStride<>(ldc));
  if (beta == 0.f) RC.noalias() = alpha * (RA * RB);
  else {
    RC *= beta;
    RC.noalias() += alpha * (RA * RB);
  }
#endif
#endif
}

void gemm_bf16_threads(const float* A, bool trans_a, int64_t lda, const float* B, bool trans_b, int64_t ldb,
                       float alpha, float beta, float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, int threads) {
  for_each_gemm_block(M, N, threads, [&](bool by_rows, int64_t lo, int64_t n) {
    if (by_rows)  // rows lo.. of op(A) and C
      gemm_bf16(trans_a ? A + lo : A + lo * lda, trans_a, lda, B, trans_b, ldb, alpha, beta, C + lo * ldc, ldc, n, N, K);
    else  // columns lo.. of op(B) and C
      gemm_bf16(A, trans_a, lda, trans_b ? B + lo * ldb : B + lo, trans_b, ldb, alpha, beta, C + lo, ldc, M, n, K);
  });
}

const char* gemm_bf16_kernel() {
#ifdef HC_DPBF16
  return "avx512_bf16 (_mm512_dpbf16_ps micro-kernel)";
#else
  return "float32 products of bf16-rounded inputs (no AVX-512 BF16 in this build)";
#endif
}

}  // namespace hc
