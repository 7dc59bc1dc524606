// attention on the CPU, one (batch, head) pair per OpenMP iteration:
//   scores [T, S] = scale * Q [T, Dh] @ K [S, Dh]ᵀ   (+ -inf above the diagonal when causal)
//   P      [T, S] = softmax over S          (kept in aux [B, H, T, S] for the backward pass)
//   out    [T, Dh] = P @ V [S, Dh]
// backward:
//   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP - rowsum(dP ⊙ P)),  dQ = scale dS K,  dK = scale dSᵀ Q
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "ops/cpu/backend_cpu.h"

namespace hc {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void CpuBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                           double scale, Tensor& out, Tensor& aux) {
  int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3), S = k.size(2);
  aux = Tensor::empty_on(*this, {B, H, T, S}, q.dtype());
  dispatch_float(q.dtype(), "attention", [&](auto tag) {
    using F = decltype(tag);
    const F* pq = q.data<F>();
    const F* pk = k.data<F>();
    const F* pv = v.data<F>();
    F* po = out.data<F>();
    F* pp = aux.data<F>();
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      Eigen::Map<const RowMat<F>> Q(pq + bh * T * Dh, T, Dh), K(pk + bh * S * Dh, S, Dh),
          V(pv + bh * S * Dh, S, Dh);
      Eigen::Map<RowMat<F>> P(pp + bh * T * S, T, S), O(po + bh * T * Dh, T, Dh);
      P.noalias() = static_cast<F>(scale) * (Q * K.transpose());
      for (int64_t i = 0; i < T; ++i) {
        int64_t visible = causal ? i + 1 : S;  // keys j > i are masked out
        F m = P.row(i).head(visible).maxCoeff();
        double s = 0;
        for (int64_t j = 0; j < visible; ++j) {
          P(i, j) = std::exp(P(i, j) - m);
          s += P(i, j);
        }
        F inv = static_cast<F>(1.0 / s);
        for (int64_t j = 0; j < visible; ++j) P(i, j) *= inv;
        for (int64_t j = visible; j < S; ++j) P(i, j) = F(0);
      }
      O.noalias() = P * V;
    }
  });
}

void CpuBackend::attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& out, const Tensor& aux, const Tensor& dout,
                                    bool causal, double scale, Tensor* dq, Tensor* dk, Tensor* dv) {
  int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3), S = k.size(2);
  dispatch_float(q.dtype(), "attention_backward", [&](auto tag) {
    using F = decltype(tag);
    const F* pq = q.data<F>();
    const F* pk = k.data<F>();
    const F* pv = v.data<F>();
    const F* pp = aux.data<F>();
    const F* pg = dout.data<F>();
    F* pdq = dq ? dq->data<F>() : nullptr;
    F* pdk = dk ? dk->data<F>() : nullptr;
    F* pdv = dv ? dv->data<F>() : nullptr;
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      Eigen::Map<const RowMat<F>> Q(pq + bh * T * Dh, T, Dh), K(pk + bh * S * Dh, S, Dh),
          V(pv + bh * S * Dh, S, Dh), P(pp + bh * T * S, T, S), dO(pg + bh * T * Dh, T, Dh);
      if (pdv) Eigen::Map<RowMat<F>>(pdv + bh * S * Dh, S, Dh).noalias() = P.transpose() * dO;
      if (!pdq && !pdk) continue;
      RowMat<F> dS = dO * V.transpose();  // dP [T, S]
      for (int64_t i = 0; i < T; ++i) {
        F dot = dS.row(i).dot(P.row(i));
        dS.row(i) = P.row(i).cwiseProduct((dS.row(i).array() - dot).matrix());  // masked P is 0
      }
      if (pdq) Eigen::Map<RowMat<F>>(pdq + bh * T * Dh, T, Dh).noalias() = static_cast<F>(scale) * (dS * K);
      if (pdk) Eigen::Map<RowMat<F>>(pdk + bh * S * Dh, S, Dh).noalias() = static_cast<F>(scale) * (dS.transpose() * Q);
    }
  });
  (void)out;
  (void)causal;
}

}  // namespace hc
