// self_attention: multi-head attention from packed qkv rows, against finite differences, the
// unfused composition (slice / permute / attention / merge), and its plain reference.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

namespace {
// The composition self_attention replaces: qkv [N, L, 3D] split into heads by permute and slice,
// attention, heads merged by permute.
Tensor unfused(const Tensor& qkv, int64_t H, bool causal) {
  int64_t N = qkv.size(0), L = qkv.size(1), D = qkv.size(2) / 3, Dh = D / H;
  Tensor t = permute(reshape(qkv, {N, L, 3, H, Dh}), {2, 0, 3, 1, 4});
  Tensor q = reshape(slice(t, 0, 0, 1), {N, H, L, Dh});
  Tensor k = reshape(slice(t, 0, 1, 2), {N, H, L, Dh});
  Tensor v = reshape(slice(t, 0, 2, 3), {N, H, L, Dh});
  return reshape(permute(attention(q, k, v, causal), {0, 2, 1, 3}), {N, L, D});
}
}  // namespace

static std::vector<OpCase> self_attention_cases() {
  std::vector<OpCase> cases;
  for (bool causal : {false, true}) {
    std::string kind = causal ? "causal" : "full";
    OpCase c{"self_attention/" + kind + "_N2_L5_H2_Dh3", {param({2, 5, 18}, 1700 + causal)},
             [causal](const std::vector<Tensor>& in) { return self_attention(in[0], 2, causal); }};
    c.cuda_bf16 = kBf16Product;
    cases.push_back(c);
  }
  // Large: the text tower's shape (L 32, D 256, 4 heads, causal), ViT-nano's (65 tokens, D 192,
  // 3 heads) and the hypernetwork's (one set of 128, D 128, 4 heads), in the fast-vs-reference,
  // CUDA and perf modes. The fast kernel sums its dot products over Dh in vector lanes and keeps
  // float accumulators; the reference sums in order in double.
  struct Big { const char* name; int64_t N, L, D, H; bool causal; };
  for (Big b : {Big{"text_N8_L32_D256_H4_causal", 8, 32, 256, 4, true}, Big{"vit_N4_L65_D192_H3", 4, 65, 192, 3, false},
                Big{"hyper_N1_L128_D128_H4", 1, 128, 128, 4, false}}) {
    int64_t H = b.H;
    bool causal = b.causal;
    OpCase c{std::string("self_attention/large_") + b.name, {param({b.N, b.L, 3 * b.D}, 1710, 0.5)},
             [H, causal](const std::vector<Tensor>& in) { return self_attention(in[0], H, causal); }};
    c.modes = kLarge;
    c.fast_forward = {1e-14, 1e-6};
    c.fast_grad = {1e-13, 1e-5};
    cases.push_back(c);
  }
  return cases;
}
HC_REGISTER_OP_CASES(self_attention_cases);

TEST_CASE("self_attention: equals slicing the heads out, attention and merging them back") {
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    Tensor qkv = param({3, 7, 24}, 1730);  // D 8, 2 heads of 4
    Tensor y = self_attention(qkv, 2, causal);
    Tensor w = randn(y.shape(), 1731);
    sum_all(mul(y, w)).backward();
    std::vector<double> g = qkv.grad().to_vector();
    qkv.zero_grad();
    Tensor y2 = unfused(qkv, 2, causal);
    sum_all(mul(y2, w)).backward();
    CHECK(max_abs_diff(y.to_vector(), y2.to_vector()) < 1e-14);
    CHECK(max_abs_diff(g, qkv.grad().to_vector()) < 1e-14);
  }
}

TEST_CASE("self_attention: refuses a width that is not 3 x heads") {
  CHECK_THROWS_WITH_AS(self_attention(randn({2, 3, 20}, 1), 3, true), doctest::Contains("is not 3 x 3 heads wide"),
                       Error);
}
