// matmul (batched) and linear.
#include "core/flops.h"
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

// The kernel works on rank-3 views [batch, rows, cols].
static Tensor as_batched(const Tensor& t, int64_t batch) {
  return make_view(t, {batch, t.size(-2), t.size(-1)});
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_same_float("matmul", {a, b});
  HC_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul needs rank >= 2, got ", a.desc(), " and ", b.desc());
  Shape batch(a.shape().begin(), a.shape().end() - 2);
  Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  HC_CHECK(b.dim() == 2 || b_batch == batch, "matmul: batch dims of ", b.desc(),
           " must match ", a.desc(), " (or b must be 2-D)");
  int64_t M = trans_a ? a.size(-1) : a.size(-2), K = trans_a ? a.size(-2) : a.size(-1);
  int64_t Kb = trans_b ? b.size(-1) : b.size(-2), N = trans_b ? b.size(-2) : b.size(-1);
  HC_CHECK(K == Kb, "matmul: inner dims differ: ", a.desc(), (trans_a ? "ᵀ" : ""), " @ ", b.desc(),
           (trans_b ? "ᵀ" : ""));
  int64_t B = numel(batch);
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty_like_shape(a, out_shape);
  Tensor out3 = as_batched(out, B);
  count_flops(2.0 * B * M * N * K);
  a.backend().matmul(as_batched(a, B), trans_a, as_batched(b, b.dim() == 2 ? 1 : B), trans_b, 1.0,
                     0.0, out3);
  return record("matmul", out, {a, b}, {a, b},
                [trans_a, trans_b](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &a = n.saved[0], &b = n.saved[1];
                  Tensor ga, gb;
                  // C = op(A) op(B):  d op(A) = dC op(B)ᵀ,  d op(B) = op(A)ᵀ dC.
                  if (needs[0]) {
                    ga = matmul(g, b, false, !trans_b);  // d op(A)
                    if (trans_a) ga = transpose(ga, -1, -2);
                  }
                  if (needs[1]) {
                    gb = trans_b ? matmul(g, a, true, trans_a) : matmul(a, g, !trans_a, false);
                    if (b.dim() == 2 && gb.dim() > 2) {  // b was shared by the batch
                      gb = sum(reshape(gb, {-1, gb.size(-2), gb.size(-1)}), {0});
                    }
                  }
                  return std::vector<Tensor>{ga, gb};
                });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_rank("linear", "weight", weight, 2);
  HC_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", x.desc(),
           " does not match weight ", weight.desc());
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  Tensor y = matmul(reshape(x, {-1, x.size(-1)}), weight, false, true);
  if (bias.defined()) {
    HC_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: bias ", bias.desc(),
             " for weight ", weight.desc());
    y = add(y, bias);
  }
  return reshape(y, out_shape);
}

}  // namespace hc
