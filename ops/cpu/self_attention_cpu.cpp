// self_attention on the CPU, one (sample, head) pair per OpenMP iteration, reading q, k and v in
// place from the packed rows and writing the merged heads (no permute or slice copies):
//   q_i = qkv[n, i, h*Dh : (h+1)*Dh],  k_j = the same columns + D,  v_j = the same columns + 2D
//   p_i [L] = softmax_j(scale q_i·k_j), keys j > i masked when causal   (kept in aux [N, H, L, L])
//   out[n, i, h*Dh : (h+1)*Dh] = Σ_j p_ij v_j
// backward, one query row i at a time:
//   dp_ij = do_i·v_j,  ds_ij = p_ij (dp_ij - Σ_j p_ij dp_ij)
//   dq_i = scale Σ_j ds_ij k_j,  dk_j += scale ds_ij q_i,  dv_j += p_ij do_i
// Causal attention (the text tower) runs row by row: every sum runs over keys j = 0, 1, ... or
// queries i = 0, 1, ... in order, and the vectorised dot products over Dh split the same way for
// every row, so no output depends on how many rows follow: a causal batch trimmed of its trailing
// padding (models/text.cpp) gives the same bits. Full attention (the ViT, the hypernetwork) is never
// trimmed, so it runs each (sample, head) as five small matrix products through Eigen's blocked
// kernels instead (S = QKᵀ, O = PV; dP = dO Vᵀ, dQ = dS K, dK = dSᵀ Q, dV = Pᵀ dO): one-at-a-time
// dot products of length Dh ran at about a tenth of the CPU's product peak.
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/reference_cpu.h"

namespace hc {

namespace {

// Σ_d a[d] b[d], vectorised (lanes summed the same way for every call of one n).
template <class F>
inline F dot(const F* a, const F* b, int64_t n) {
  F acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t d = 0; d < n; ++d) acc += a[d] * b[d];
  return acc;
}

// y[d] += alpha x[d]
template <class F>
inline void axpy(F alpha, const F* x, F* y, int64_t n) {
#pragma omp simd
  for (int64_t d = 0; d < n; ++d) y[d] += alpha * x[d];
}

// Row-major matrices, and views of the packed rows: Q, K, V of one head are [L, Dh] with rows 3D
// apart, O and dO [L, Dh] with rows D apart.
template <class F>
using RowMat = Eigen::Matrix<F, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class F>
using RowsView = Eigen::Map<RowMat<F>, 0, Eigen::OuterStride<>>;
template <class F>
using ConstRowsView = Eigen::Map<const RowMat<F>, 0, Eigen::OuterStride<>>;

// p [n] <- softmax(p), in place.
template <class F>
inline void softmax_row(F* p, int64_t n) {
  Eigen::Map<Eigen::Array<F, Eigen::Dynamic, 1>> row(p, n);
  row = (row - row.maxCoeff()).exp();
  row *= F(1) / row.sum();
}

// Where head h of sample n lives: row i's q at q(i), k at k(i), v at v(i); rows 3D apart.
template <class F>
struct PackedHead {
  F* base;
  int64_t row, D;  // row = 3D
  F* q(int64_t i) const { return base + i * row; }
  F* k(int64_t i) const { return base + i * row + D; }
  F* v(int64_t i) const { return base + i * row + 2 * D; }
};

}  // namespace

void CpuBackend::self_attention(const Tensor& qkv, int64_t H, bool causal, double scale, Tensor& out,
                                Tensor& aux) {
  int64_t N = qkv.size(0), L = qkv.size(1), D = qkv.size(2) / 3, Dh = D / H;
  aux = Tensor::empty_on(*this, {N, H, L, L}, qkv.dtype());
  if (reference_kernels()) return self_attention_reference(qkv, H, causal, scale, out, aux);
  dispatch_float(qkv.dtype(), "self_attention", [&](auto tag) {
    using F = decltype(tag);
    F* pqkv = qkv.data<F>();  // qkv [N, L, 3D]
    F* po = out.data<F>();    // out [N, L, D]
    F* pp = aux.data<F>();    // P   [N, H, L, L]
    const F sc = static_cast<F>(scale);
#pragma omp parallel for schedule(static)
    for (int64_t nh = 0; nh < N * H; ++nh) {
      int64_t n = nh / H, h = nh % H;
      PackedHead<F> x{pqkv + n * L * 3 * D + h * Dh, 3 * D, D};
      if (!causal) {
        ConstRowsView<F> Q(x.q(0), L, Dh, Eigen::OuterStride<>(3 * D)), K(x.k(0), L, Dh, Eigen::OuterStride<>(3 * D)),
            V(x.v(0), L, Dh, Eigen::OuterStride<>(3 * D));                              // [L, Dh] each
        Eigen::Map<RowMat<F>> P(pp + nh * L * L, L, L);                                // [L, L]
        RowsView<F> O(po + n * L * D + h * Dh, L, Dh, Eigen::OuterStride<>(D));        // [L, Dh]
        P.noalias() = Q * K.transpose();
        P *= sc;
        for (int64_t i = 0; i < L; ++i) softmax_row(P.data() + i * L, L);  // no mask
        O.noalias() = P * V;
        continue;
      }
      for (int64_t i = 0; i < L; ++i) {
        int64_t visible = causal ? i + 1 : L;  // keys j > i are masked out
        F* p = pp + (nh * L + i) * L;          // [L]
        const F* qi = x.q(i);
        for (int64_t j = 0; j < visible; ++j) p[j] = sc * dot(qi, x.k(j), Dh);
        softmax_row(p, visible);
        for (int64_t j = visible; j < L; ++j) p[j] = F(0);
        F* o = po + (n * L + i) * D + h * Dh;  // [Dh]
        for (int64_t d = 0; d < Dh; ++d) o[d] = F(0);
        for (int64_t j = 0; j < visible; ++j) axpy(p[j], x.v(j), o, Dh);
      }
    }
  });
}

void CpuBackend::self_attention_backward(const Tensor& qkv, const Tensor& out, const Tensor& aux,
                                         const Tensor& dout, int64_t H, bool causal, double scale,
                                         Tensor& dqkv) {
  if (reference_kernels()) return self_attention_backward_reference(qkv, out, aux, dout, H, causal, scale, dqkv);
  int64_t N = qkv.size(0), L = qkv.size(1), D = qkv.size(2) / 3, Dh = D / H;
  dispatch_float(qkv.dtype(), "self_attention_backward", [&](auto tag) {
    using F = decltype(tag);
    F* pqkv = qkv.data<F>();         // [N, L, 3D]
    const F* pp = aux.data<F>();     // P [N, H, L, L]
    const F* pg = dout.data<F>();    // dO [N, L, D]
    F* pd = dqkv.data<F>();          // [N, L, 3D]
    const F sc = static_cast<F>(scale);
#pragma omp parallel
    {
      std::vector<F> ds(L);
      RowMat<F> dS(causal ? 0 : L, causal ? 0 : L);  // [L, L] full attention's dP, then dS
#pragma omp for schedule(static)
      for (int64_t nh = 0; nh < N * H; ++nh) {
        int64_t n = nh / H, h = nh % H;
        PackedHead<F> x{pqkv + n * L * 3 * D + h * Dh, 3 * D, D};
        PackedHead<F> dx{pd + n * L * 3 * D + h * Dh, 3 * D, D};
        if (!causal) {
          const Eigen::OuterStride<> packed(3 * D), merged(D);
          ConstRowsView<F> Q(x.q(0), L, Dh, packed), K(x.k(0), L, Dh, packed), V(x.v(0), L, Dh, packed);
          ConstRowsView<F> dO(pg + n * L * D + h * Dh, L, Dh, merged);                 // [L, Dh]
          Eigen::Map<const RowMat<F>> P(pp + nh * L * L, L, L);                        // [L, L]
          RowsView<F> dQ(dx.q(0), L, Dh, packed), dK(dx.k(0), L, Dh, packed), dV(dx.v(0), L, Dh, packed);
          dS.noalias() = dO * V.transpose();                                           // dP
          // dS = scale P ∘ (dP - rowsum(P ∘ dP))
          auto c = (P.array() * dS.array()).rowwise().sum().eval();                   // [L, 1]
          dS = (sc * P.array() * (dS.array().colwise() - c)).matrix();
          dQ.noalias() = dS * K;
          dK.noalias() = dS.transpose() * Q;
          dV.noalias() = P.transpose() * dO;
          continue;
        }
        for (int64_t i = 0; i < L; ++i) {
          std::memset(dx.q(i), 0, Dh * sizeof(F));
          std::memset(dx.k(i), 0, Dh * sizeof(F));
          std::memset(dx.v(i), 0, Dh * sizeof(F));
        }
        for (int64_t i = 0; i < L; ++i) {
          int64_t visible = causal ? i + 1 : L;
          const F* p = pp + (nh * L + i) * L;
          const F* doi = pg + (n * L + i) * D + h * Dh;
          F c = 0;
          for (int64_t j = 0; j < visible; ++j) {
            ds[j] = dot(doi, x.v(j), Dh);  // dp_ij
            c += p[j] * ds[j];
          }
          for (int64_t j = 0; j < visible; ++j) ds[j] = sc * p[j] * (ds[j] - c);
          F* dqi = dx.q(i);
          const F* qi = x.q(i);
          for (int64_t j = 0; j < visible; ++j) {
            axpy(ds[j], x.k(j), dqi, Dh);
            axpy(ds[j], qi, dx.k(j), Dh);
            axpy(p[j], doi, dx.v(j), Dh);
          }
        }
      }
    }
  });
  (void)out;
}

void self_attention_reference(const Tensor& qkv, int64_t H, bool causal, double scale, Tensor& out, Tensor& aux) {
  int64_t N = qkv.size(0), L = qkv.size(1), D = qkv.size(2) / 3, Dh = D / H;
  dispatch_float(qkv.dtype(), "self_attention", [&](auto tag) {
    using F = decltype(tag);
    F* pqkv = qkv.data<F>();
    F* po = out.data<F>();
    F* pp = aux.data<F>();
    std::vector<double> s(L);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h) {
        PackedHead<F> x{pqkv + n * L * 3 * D + h * Dh, 3 * D, D};
        for (int64_t i = 0; i < L; ++i) {
          int64_t visible = causal ? i + 1 : L;
          double m = -INFINITY, sum = 0;
          for (int64_t j = 0; j < visible; ++j) {
            double acc = 0;
            for (int64_t d = 0; d < Dh; ++d) acc += double(x.q(i)[d]) * double(x.k(j)[d]);
            s[j] = scale * acc;
            m = std::max(m, s[j]);
          }
          for (int64_t j = 0; j < visible; ++j) sum += (s[j] = std::exp(s[j] - m));
          F* p = pp + ((n * H + h) * L + i) * L;
          for (int64_t j = 0; j < L; ++j) p[j] = j < visible ? static_cast<F>(s[j] / sum) : F(0);
          for (int64_t d = 0; d < Dh; ++d) {
            double acc = 0;
            for (int64_t j = 0; j < visible; ++j) acc += s[j] / sum * double(x.v(j)[d]);
            po[(n * L + i) * D + h * Dh + d] = static_cast<F>(acc);
          }
        }
      }
  });
}

void self_attention_backward_reference(const Tensor& qkv, const Tensor& out, const Tensor& aux, const Tensor& dout,
                                       int64_t H, bool causal, double scale, Tensor& dqkv) {
  int64_t N = qkv.size(0), L = qkv.size(1), D = qkv.size(2) / 3, Dh = D / H;
  dispatch_float(qkv.dtype(), "self_attention_backward", [&](auto tag) {
    using F = decltype(tag);
    F* pqkv = qkv.data<F>();
    const F* pp = aux.data<F>();
    const F* pg = dout.data<F>();
    F* pd = dqkv.data<F>();
    std::vector<double> ds(L * L);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h) {
        PackedHead<F> x{pqkv + n * L * 3 * D + h * Dh, 3 * D, D};
        PackedHead<F> dx{pd + n * L * 3 * D + h * Dh, 3 * D, D};
        const F* P = pp + (n * H + h) * L * L;                       // [L, L]
        auto dO = [&](int64_t i) { return pg + (n * L + i) * D + h * Dh; };
        for (int64_t i = 0; i < L; ++i) {                            // dS [L, L]
          double c = 0;
          for (int64_t j = 0; j < L; ++j) {
            double acc = 0;
            for (int64_t d = 0; d < Dh; ++d) acc += double(dO(i)[d]) * double(x.v(j)[d]);
            ds[i * L + j] = acc;
            c += double(P[i * L + j]) * acc;
          }
          for (int64_t j = 0; j < L; ++j) ds[i * L + j] = double(P[i * L + j]) * (ds[i * L + j] - c);
        }
        for (int64_t r = 0; r < L; ++r)
          for (int64_t d = 0; d < Dh; ++d) {
            double aq = 0, ak = 0, av = 0;
            for (int64_t j = 0; j < L; ++j) aq += ds[r * L + j] * double(x.k(j)[d]);  // dq_r
            for (int64_t i = 0; i < L; ++i) {
              ak += ds[i * L + r] * double(x.q(i)[d]);                                   // dk_r
              av += double(P[i * L + r]) * double(dO(i)[d]);                             // dv_r
            }
            dx.q(r)[d] = static_cast<F>(scale * aq);
            dx.k(r)[d] = static_cast<F>(scale * ak);
            dx.v(r)[d] = static_cast<F>(av);
          }
      }
  });
  (void)out;
  (void)causal;  // the mask lives in P's zeros
}

}  // namespace hc
