// self_attention: multi-head attention straight from the packed qkv projection rows.
#include <cmath>

#include "core/flops.h"
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor self_attention(const Tensor& qkv, int64_t heads, bool causal) {
  check_same_float("self_attention", {qkv});
  check_rank("self_attention", "qkv", qkv, 3);
  int64_t N = qkv.size(0), L = qkv.size(1), D3 = qkv.size(2);
  HC_CHECK(heads > 0 && D3 % (3 * heads) == 0, "self_attention: qkv ", qkv.desc(), " is not 3 x ", heads,
           " heads wide");
  HC_CHECK(N > 0 && L > 0 && D3 > 0, "self_attention: empty input ", qkv.desc());
  int64_t D = D3 / 3, Dh = D / heads;
  double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  Tensor out = empty_like_shape(qkv, {N, L, D}), aux;
  // Q Kᵀ and P V: two products of 2·L·L·Dh per head (the causal mask is not discounted).
  count_flops(2.0 * 2.0 * N * heads * L * L * Dh);
  qkv.backend().self_attention(qkv, heads, causal, scale, out, aux);
  return record("self_attention", out, {qkv}, {qkv, out, aux},
                [heads, causal, scale](const Node& n, const Tensor& g, const std::vector<bool>&) {
                  const Tensor& qkv = n.saved[0];
                  Tensor dqkv = empty_like_shape(qkv, qkv.shape());
                  qkv.backend().self_attention_backward(qkv, n.saved[1], n.saved[2], g, heads, causal, scale,
                                                        dqkv);
                  return std::vector<Tensor>{dqkv};
                });
}

}  // namespace hc
