// Batched matrix products through Eigen. Row-major maps over the tensors' memory, no copies.
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include "core/backend_cpu.h"

namespace hc {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void CpuBackend::matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
                        double beta, Tensor& out) {
  // a: [Ba, ra, ca]; b: [Bb, rb, cb]; out: [Ba, M, N]
  int64_t Ba = a.size(0), ra = a.size(1), ca = a.size(2);
  int64_t Bb = b.size(0), rb = b.size(1), cb = b.size(2);
  int64_t M = out.size(1), N = out.size(2);
  dispatch_float(out.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    T al = static_cast<T>(alpha), be = static_cast<T>(beta);
    auto one = [&](int64_t i) {
      Eigen::Map<const RowMat<T>> A(pa + i * ra * ca, ra, ca);
      Eigen::Map<const RowMat<T>> B(pb + (Bb == 1 ? 0 : i) * rb * cb, rb, cb);
      Eigen::Map<RowMat<T>> C(po + i * M * N, M, N);
      if (beta == 0) {
        if (!trans_a && !trans_b) C.noalias() = al * (A * B);
        else if (trans_a && !trans_b) C.noalias() = al * (A.transpose() * B);
        else if (!trans_a && trans_b) C.noalias() = al * (A * B.transpose());
        else C.noalias() = al * (A.transpose() * B.transpose());
      } else {
        C *= be;
        if (!trans_a && !trans_b) C.noalias() += al * (A * B);
        else if (trans_a && !trans_b) C.noalias() += al * (A.transpose() * B);
        else if (!trans_a && trans_b) C.noalias() += al * (A * B.transpose());
        else C.noalias() += al * (A.transpose() * B.transpose());
      }
    };
    // Many small products (attention heads): one product per thread. Few large ones: Eigen
    // parallelises each product itself (it stays serial inside an OpenMP region).
    if (Ba > 1 && M * N * (trans_a ? ra : ca) < (1 << 18)) {
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < Ba; ++i) one(i);
    } else {
      for (int64_t i = 0; i < Ba; ++i) one(i);
    }
  });
}

}  // namespace hc
