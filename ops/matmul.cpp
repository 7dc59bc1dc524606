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
  Tensor x2 = reshape(x, {-1, x.size(-1)});  // [R, K]
  if (!bias.defined()) return reshape(matmul(x2, weight, false, true), out_shape);
  check_same_float("linear", {x, weight, bias});
  HC_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: bias ", bias.desc(),
           " for weight ", weight.desc());
  // With a bias, one fused product y = b + x Wᵀ: the output starts as the bias in every row and
  // the GEMM accumulates into it (beta = 1), so no second [R, O] tensor is made or kept for the
  // backward pass, and no separate pass adds the bias.
  int64_t R = x2.size(0), K = x2.size(1), O = weight.size(0);
  Tensor y = empty_like_shape(x2, {R, O});
  Tensor y3 = as_batched(y, 1);
  x.backend().expand(make_view(bias, {1, O}), y);
  count_flops(2.0 * R * O * K);
  x.backend().matmul(as_batched(x2, 1), false, as_batched(weight, 1), true, 1.0, 1.0, y3);
  y = record("linear", y, {x2, weight, bias}, {x2, weight},
             [](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
               const Tensor &x2 = n.saved[0], &w = n.saved[1];
               Tensor dx, dw, db;
               if (needs[0]) dx = matmul(g, w, false, false);  // [R, O] @ [O, K]
               if (needs[1]) dw = matmul(g, x2, true, false);  // [R, O]ᵀ @ [R, K]
               if (needs[2]) db = sum(g, {0});                 // [O]
               return std::vector<Tensor>{dx, dw, db};
             });
  return reshape(y, out_shape);
}

}  // namespace hc
