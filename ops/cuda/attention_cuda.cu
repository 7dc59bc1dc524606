// Scaled dot-product attention on the GPU, with cuBLAS strided-batched GEMMs over the B*H heads
// and the row softmax kernel:
//   scores [BH, T, S] = scale * Q [BH, T, Dh] @ K [BH, S, Dh]ᵀ
//   P      [BH, T, S] = softmax over S, keys j > i masked when causal (kept in aux for backward)
//   out    [BH, T, Dh] = P @ V [BH, S, Dh]
// backward:
//   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP - rowsum(dP ⊙ P)),  dQ = scale dS K,  dK = scale dSᵀ Q
// (masked entries of P are exactly 0, so they carry no gradient). In MathMode::BF16 the four
// products round their inputs to bf16 like every other GEMM; the softmax stays float32.
#include "ops/cuda/softmax_cuda.cuh"

namespace hc {

void CudaBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale,
                            Tensor& out, Tensor& aux) {
  int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3), S = k.size(2), BH = B * H;
  HC_CHECK(!causal || T == S, "attention: a causal mask needs as many keys as queries, got ", T, " and ", S);
  const float *pq = cf32("attention", q), *pk = cf32("attention", k), *pv = cf32("attention", v);
  float* po = f32("attention", out);
  aux = scratch({B, H, T, S});
  float* pp = f32("attention", aux);
  if (BH * T * S == 0) return;
  gemm(pq, false, T * Dh, pk, true, S * Dh, pp, BH, T, S, Dh, static_cast<float>(scale), 0.f);
  softmax_rows(stream(), pp, pp, BH * T, S, causal ? T : 0);
  gemm(pp, false, T * S, pv, false, S * Dh, po, BH, T, Dh, S, 1.f, 0.f);
}

void CudaBackend::attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                     const Tensor& aux, const Tensor& dout, bool causal, double scale,
                                     Tensor* dq, Tensor* dk, Tensor* dv) {
  const char* op = "attention_backward";
  int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3), S = k.size(2), BH = B * H;
  const float *pq = cf32(op, q), *pk = cf32(op, k), *pv = cf32(op, v), *pp = cf32(op, aux), *pg = cf32(op, dout);
  (void)out;
  (void)causal;  // the mask lives in P's zeros
  if (BH * T * S == 0) return;
  if (dv) gemm(pp, true, T * S, pg, false, T * Dh, f32(op, *dv), BH, S, Dh, T, 1.f, 0.f);
  if (!dq && !dk) return;
  Tensor ds = scratch({BH, T, S});
  float* pds = f32(op, ds);
  gemm(pg, false, T * Dh, pv, true, S * Dh, pds, BH, T, S, Dh, 1.f, 0.f);  // dP = dO Vᵀ
  softmax_backward_rows(stream(), pp, pds, pds, BH * T, S);                // dS, in place
  float sc = static_cast<float>(scale);
  if (dq) gemm(pds, false, T * S, pk, false, S * Dh, f32(op, *dq), BH, T, Dh, S, sc, 0.f);
  if (dk) gemm(pds, true, T * S, pq, false, T * Dh, f32(op, *dk), BH, S, Dh, T, sc, 0.f);
}

}  // namespace hc
