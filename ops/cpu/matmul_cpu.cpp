// Batched matrix products through Eigen. Row-major maps over the tensors' memory, no copies.
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <omp.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/gemm_blocks.h"
#include "ops/cpu/gemm_bf16_cpu.h"
#include "ops/cpu/reference_cpu.h"

namespace hc {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// C = al * opA opB + be * C, serial (Eigen stays on one thread inside an OpenMP region).
template <class T, class XA, class XB, class XC>
static void gemm_serial(const XA& opA, const XB& opB, T al, T be, XC&& C) {
  if (be == T(0)) {
    C.noalias() = al * (opA * opB);
  } else {
    if (be != T(1)) C *= be;
    C.noalias() += al * (opA * opB);
  }
}

// One product on all threads: C [M, N] is cut into one block per thread along its longer side
// (rows of opA or columns of opB), and each thread runs a serial Eigen product on its own block.
// Why not Eigen's own parallel GEMM: it synchronises the threads at every packed panel, which
// costs a lot on a 2-core machine that other processes share (one descheduled thread stalls the
// other at each barrier); here the threads meet once, at the end. Each element of C is computed
// by one thread in an order that depends only on the shapes and the thread count, so results
// are reproducible for a fixed thread count.
template <class T, class XA, class XB, class XC>
static void gemm_blocks(const XA& opA, const XB& opB, T al, T be, XC&& C, int threads) {
  for_each_gemm_block(C.rows(), C.cols(), threads, [&](bool by_rows, int64_t lo, int64_t n) {
    if (by_rows) gemm_serial(opA.middleRows(lo, n), opB, al, be, C.middleRows(lo, n));
    else gemm_serial(opA, opB.middleCols(lo, n), al, be, C.middleCols(lo, n));
  });
}

#ifdef HC_OPENBLAS
// Built with OpenBLAS (make BLAS=openblas): float32 products go to its sgemm, about 1.3x Eigen's
// on this machine's Zen cores. The CBLAS prototypes are declared here (standard ABI: the enums
// are ints) so that no particular cblas.h is needed. OpenBLAS runs on one thread per call: the
// threads are ours (the same blocks as gemm_blocks), so results stay reproducible.
extern "C" {
void cblas_sgemm(int layout, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc);
void openblas_set_num_threads(int n);
char* openblas_get_corename();
}
namespace {
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
struct OpenBlasSerial {
  OpenBlasSerial() { openblas_set_num_threads(1); }
};
}  // namespace

// C [M, N] = alpha * op(A) op(B) + beta * C for row-major A ([M, K] or [K, M] if trans_a) and B
// ([K, N] or [N, K] if trans_b), cut into blocks as gemm_blocks does.
static void sgemm_blocks(const float* A, bool trans_a, const float* B, bool trans_b, float alpha, float beta,
                         float* C, int64_t M, int64_t N, int64_t K, int threads) {
  static OpenBlasSerial once;
  int64_t lda = trans_a ? M : K, ldb = trans_b ? K : N;
  for_each_gemm_block(M, N, threads, [&](bool by_rows, int64_t lo, int64_t n) {
    if (by_rows)  // rows lo.. of op(A) and C
      cblas_sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, int(n), int(N), int(K), alpha,
                  trans_a ? A + lo : A + lo * lda, int(lda), B, int(ldb), beta, C + lo * N, int(N));
    else  // columns lo.. of op(B) and C
      cblas_sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, int(M), int(n), int(K), alpha,
                  A, int(lda), trans_b ? B + lo * ldb : B + lo, int(ldb), beta, C + lo, int(N));
  });
}
#endif

// Below this many multiply-adds a product runs on one thread.
constexpr int64_t kParallelGemm = 1 << 18;

void CpuBackend::matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
                        double beta, Tensor& out) {
  if (reference_kernels()) return matmul_reference(a, trans_a, b, trans_b, alpha, beta, out);
  // a: [Ba, ra, ca]; b: [Bb, rb, cb]; out: [Ba, M, N]
  int64_t Ba = a.size(0), ra = a.size(1), ca = a.size(2);
  int64_t Bb = b.size(0), rb = b.size(1), cb = b.size(2);
  int64_t M = out.size(1), N = out.size(2), K = trans_a ? ra : ca;
  dispatch_float(out.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    T al = static_cast<T>(alpha), be = static_cast<T>(beta);
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    // Product i, on `threads` threads (1: serial).
    const bool bf16 = std::is_same_v<T, float> && math_mode() == MathMode::BF16;
    auto one = [&](int64_t i, int threads) {
      if constexpr (std::is_same_v<T, float>) {
        if (bf16) {
          gemm_bf16_threads(pa + i * ra * ca, trans_a, ca, pb + (Bb == 1 ? 0 : i) * rb * cb, trans_b, cb, al, be,
                            po + i * M * N, N, M, N, K, threads);
          return;
        }
      }
#ifdef HC_OPENBLAS
      if constexpr (std::is_same_v<T, float>) {
        sgemm_blocks(pa + i * ra * ca, trans_a, pb + (Bb == 1 ? 0 : i) * rb * cb, trans_b, al, be, po + i * M * N,
                     M, N, K, threads);
        return;
      }
#endif
      Eigen::Map<const RowMat<T>> A(pa + i * ra * ca, ra, ca);
      Eigen::Map<const RowMat<T>> B(pb + (Bb == 1 ? 0 : i) * rb * cb, rb, cb);
      Eigen::Map<RowMat<T>> C(po + i * M * N, M, N);
      auto run = [&](const auto& opA, const auto& opB) {
        if (threads > 1) gemm_blocks(opA, opB, al, be, C, threads);
        else gemm_serial(opA, opB, al, be, C);
      };
      if (!trans_a && !trans_b) run(A, B);
      else if (trans_a && !trans_b) run(A.transpose(), B);
      else if (!trans_a && trans_b) run(A, B.transpose());
      else run(A.transpose(), B.transpose());
    };
    if (threads > 1 && M * N * K >= kParallelGemm) {
      // Large products: each one on all threads.
      for (int64_t i = 0; i < Ba; ++i) one(i, threads);
    } else if (threads > 1 && Ba > 1) {
      // Many small products (attention heads): one product per thread.
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < Ba; ++i) one(i, 1);
    } else {
      for (int64_t i = 0; i < Ba; ++i) one(i, 1);
    }
  });
}

std::string cpu_gemm_library() {
#ifdef HC_OPENBLAS
  std::string fp32 = std::string("openblas (float32; kernels ") + openblas_get_corename() + "), eigen (float64)";
#else
  std::string fp32 = "eigen";
#endif
  if (cpu_backend().math_mode() == MathMode::BF16) return std::string("bf16: ") + gemm_bf16_kernel() + "; " + fp32;
  return fp32;
}

void matmul_reference(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
                      double beta, Tensor& out) {
  int64_t Ba = a.size(0), ra = a.size(1), ca = a.size(2);
  int64_t Bb = b.size(0), rb = b.size(1), cb = b.size(2);
  int64_t M = out.size(1), N = out.size(2), K = trans_a ? ra : ca;
  dispatch_float(out.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0; i < Ba; ++i) {
      const T* A = pa + i * ra * ca;            // [ra, ca]
      const T* B = pb + (Bb == 1 ? 0 : i) * rb * cb;  // [rb, cb]
      T* C = po + i * M * N;                    // [M, N]
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k)
            acc += double(trans_a ? A[k * ca + m] : A[m * ca + k]) * double(trans_b ? B[n * cb + k] : B[k * cb + n]);
          double prev = beta == 0 ? 0.0 : beta * double(C[m * N + n]);
          C[m * N + n] = static_cast<T>(alpha * acc + prev);
        }
    }
  });
}

}  // namespace hc
