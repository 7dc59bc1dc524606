// self_attention on the GPU, composed from the CUDA permute and attention kernels: the packed rows
// qkv [N, L, 3, H, Dh] are permuted into contiguous q, k, v [3, N, H, L, Dh] (scratch), attention
// runs on them, and its output [N, H, L, Dh] is permuted back into the merged heads [N, L, H, Dh].
// The backward pass permutes qkv, out and dout the same way (nothing but the attention's P is
// kept) and permutes dq, dk, dv back into dqkv [N, L, 3, H, Dh]. These are the copies the CPU
// kernel avoids; a CUDA kernel reading the packed rows in place is not written (no GPU to test it
// on here), so this backend computes exactly what it computed before the op existed.
#include "ops/cuda/common_cuda.cuh"

namespace hc {

namespace {
// A view of t's storage `offset` elements further on, with `shape`.
Tensor view_at(const Tensor& t, int64_t offset, const Shape& shape) {
  Tensor v = make_view(t, {t.numel()});
  v.impl()->offset += offset;
  v.impl()->shape = shape;
  return v;
}
}  // namespace

void CudaBackend::self_attention(const Tensor& qkv, int64_t H, bool causal, double scale, Tensor& out,
                                 Tensor& aux) {
  int64_t N = qkv.size(0), L = qkv.size(1), D = qkv.size(2) / 3, Dh = D / H, part = N * H * L * Dh;
  require_f32("self_attention", qkv);
  Tensor heads = scratch({3, N, H, L, Dh});
  permute(make_view(qkv, {N, L, 3, H, Dh}), {2, 0, 3, 1, 4}, heads);
  Tensor o = scratch({N, H, L, Dh});
  attention(view_at(heads, 0, {N, H, L, Dh}), view_at(heads, part, {N, H, L, Dh}),
            view_at(heads, 2 * part, {N, H, L, Dh}), causal, scale, o, aux);
  Tensor merged = make_view(out, {N, L, H, Dh});
  permute(o, {0, 2, 1, 3}, merged);
}

void CudaBackend::self_attention_backward(const Tensor& qkv, const Tensor& out, const Tensor& aux,
                                          const Tensor& dout, int64_t H, bool causal, double scale,
                                          Tensor& dqkv) {
  int64_t N = qkv.size(0), L = qkv.size(1), D = qkv.size(2) / 3, Dh = D / H, part = N * H * L * Dh;
  require_f32("self_attention_backward", qkv);
  Tensor heads = scratch({3, N, H, L, Dh}), o = scratch({N, H, L, Dh}), dO = scratch({N, H, L, Dh});
  permute(make_view(qkv, {N, L, 3, H, Dh}), {2, 0, 3, 1, 4}, heads);
  permute(make_view(out, {N, L, H, Dh}), {0, 2, 1, 3}, o);
  permute(make_view(dout, {N, L, H, Dh}), {0, 2, 1, 3}, dO);
  Tensor dheads = scratch({3, N, H, L, Dh});
  Tensor dq = view_at(dheads, 0, {N, H, L, Dh}), dk = view_at(dheads, part, {N, H, L, Dh}),
         dv = view_at(dheads, 2 * part, {N, H, L, Dh});
  attention_backward(view_at(heads, 0, {N, H, L, Dh}), view_at(heads, part, {N, H, L, Dh}),
                     view_at(heads, 2 * part, {N, H, L, Dh}), o, aux, dO, causal, scale, &dq, &dk, &dv);
  Tensor packed = make_view(dqkv, {N, L, 3, H, Dh});
  permute(dheads, {1, 3, 0, 2, 4}, packed);
}

}  // namespace hc
