// attention: fused scaled dot-product attention with an optional causal mask.
#include <cmath>

#include "core/flops.h"
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal) {
  check_same_float("attention", {q, k, v});
  check_rank("attention", "q", q, 4);
  check_rank("attention", "k", k, 4);
  check_rank("attention", "v", v, 4);
  int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3), S = k.size(2);
  HC_CHECK(k.size(0) == B && k.size(1) == H && k.size(3) == Dh, "attention: k ", k.desc(),
           " does not match q ", q.desc());
  HC_CHECK(v.shape() == k.shape(), "attention: v ", v.desc(), " must have k's shape ", k.desc());
  HC_CHECK(!causal || T == S, "attention: a causal mask needs as many queries as keys, got ", T,
           " and ", S);
  HC_CHECK(T > 0 && S > 0 && Dh > 0, "attention: empty input ", q.desc(), " / ", k.desc());
  double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  Tensor out = empty_like_shape(q, q.shape()), aux;
  // Q Kᵀ and P V: two products of 2·T·S·Dh per head (the causal mask is not discounted).
  count_flops(2.0 * 2.0 * B * H * T * S * Dh);
  q.backend().attention(q, k, v, causal, scale, out, aux);
  return record("attention", out, {q, k, v}, {q, k, v, out, aux},
                [causal, scale](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &q = n.saved[0], &k = n.saved[1], &v = n.saved[2];
                  Tensor dq, dk, dv;
                  if (needs[0]) dq = empty_like_shape(q, q.shape());
                  if (needs[1]) dk = empty_like_shape(k, k.shape());
                  if (needs[2]) dv = empty_like_shape(v, v.shape());
                  q.backend().attention_backward(q, k, v, n.saved[3], n.saved[4], g, causal, scale,
                                                 needs[0] ? &dq : nullptr, needs[1] ? &dk : nullptr,
                                                 needs[2] ? &dv : nullptr);
                  return std::vector<Tensor>{dq, dk, dv};
                });
}

}  // namespace hc
