// attention: fused scaled dot-product attention, causal and not, against finite differences and
// an unfused composition of matmul and softmax.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> attention_cases() {
  std::vector<OpCase> cases;
  cases.push_back({"attention/cross_T3_S5", {param({2, 2, 3, 4}, 1600), param({2, 2, 5, 4}, 1601), param({2, 2, 5, 4}, 1602)},
                   [](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], false); }});
  cases.push_back({"attention/causal_T4", {param({2, 2, 4, 3}, 1603), param({2, 2, 4, 3}, 1604), param({2, 2, 4, 3}, 1605)},
                   [](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], true); }});
  // A causal self-attention block: x -> qkv -> heads -> attention -> merge -> projection.
  cases.push_back({"attention/self_attention_block", {param({2, 4, 6}, 1606), param({18, 6}, 1607, 0.4), param({6, 6}, 1608, 0.4)},
                   [](const std::vector<Tensor>& in) {
                     Tensor t = permute(reshape(linear(in[0], in[1]), {2, 4, 3, 2, 3}), {2, 0, 3, 1, 4});
                     Tensor q = reshape(slice(t, 0, 0, 1), {2, 2, 4, 3});
                     Tensor k = reshape(slice(t, 0, 1, 2), {2, 2, 4, 3});
                     Tensor v = reshape(slice(t, 0, 2, 3), {2, 2, 4, 3});
                     Tensor o = reshape(permute(attention(q, k, v, true), {0, 2, 1, 3}), {2, 4, 6});
                     return linear(o, in[2]);
                   }});
  for (OpCase& c : cases) c.cuda_bf16 = kBf16Product;
  // Large, CUDA against the CPU: causal attention at the text tower's context.
  OpCase big{"attention/large_causal_2x3x77x64",
             {param({2, 3, 77, 64}, 1620), param({2, 3, 77, 64}, 1621), param({2, 3, 77, 64}, 1622)},
             [](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], true); }};
  big.modes = kCudaFp32 | kPerf;
  cases.push_back(big);
  return cases;
}
HC_REGISTER_OP_CASES(attention_cases);

TEST_CASE("attention: causal first query sees only the first key") {
  Tensor q = randn({1, 1, 2, 3}, 1), k = randn({1, 1, 2, 3}, 2);
  Tensor v = Tensor::from_vector({1, 2, 3, 10, 20, 30}, {1, 1, 2, 3}, DType::F64);
  std::vector<double> o = attention(q, k, v, true).to_vector();
  CHECK(o[0] == doctest::Approx(1));
  CHECK(o[1] == doctest::Approx(2));
  CHECK(o[2] == doctest::Approx(3));
  // Equal keys: the second query averages both values.
  Tensor k2 = Tensor::zeros({1, 1, 2, 3}, DType::F64);
  CHECK(attention(q, k2, v, true).to_vector()[3] == doctest::Approx(5.5));
}

TEST_CASE("attention: equals softmax(q kᵀ / sqrt(d) + mask) v, float32 close to float64") {
  Tensor q = randn({2, 3, 6, 8}, 4), k = randn({2, 3, 6, 8}, 5), v = randn({2, 3, 6, 8}, 6);
  for (bool causal : {false, true}) {
    Tensor scores = scale(matmul(q, k, false, true), 1 / std::sqrt(8.0));
    if (causal) {
      std::vector<double> mask(36);
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) mask[i * 6 + j] = j > i ? -1e300 : 0;
      scores = add(scores, Tensor::from_vector(mask, {6, 6}, DType::F64));
    }
    std::vector<double> ref = matmul(softmax(scores), v).to_vector();
    CHECK(max_abs_diff(attention(q, k, v, causal).to_vector(), ref) < 1e-12);
    std::vector<double> f32 = attention(q.to(DType::F32), k.to(DType::F32), v.to(DType::F32), causal).to_vector();
    CHECK(max_abs_diff(f32, ref) < 1e-5);
  }
  CHECK_THROWS_AS(attention(q, randn({2, 3, 5, 8}, 1), randn({2, 3, 5, 8}, 2), true), Error);
  CHECK_THROWS_AS(attention(q, randn({2, 3, 6, 7}, 1), v, false), Error);
}
