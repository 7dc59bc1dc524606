// layer_norm: plain, per-set, and with generated scale and shift.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> layer_norm_cases() {
  std::vector<OpCase> cases;
  cases.push_back({"layer_norm/3d", {param({2, 3, 5}, 1400), uniform({5}, 1401, 0.5, 1.5).set_requires_grad(true), param({5}, 1402)},
                   [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); }});
  Tensor sets = Tensor::from_ints({1, 0, 1}, {3});
  cases.push_back({"layer_norm/per_set_S2", {param({3, 2, 4}, 1403), param({2, 4}, 1404), param({2, 4}, 1405)},
                   [sets](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2], 1e-5, as_like(sets, in[0])); }});
  cases.push_back({"layer_norm/generated_scale_shift",
                   {param({3, 2, 4}, 1406), uniform({4}, 1407, 0.5, 1.5).set_requires_grad(true),
                    param({4}, 1408), param({2, 3}, 1409), param({8, 3}, 1410, 0.5), param({8}, 1411)},
                   [sets](const std::vector<Tensor>& in) {
                     Tensor p = linear(in[3], in[4], in[5]);
                     Tensor g = add(in[1], slice(p, 1, 0, 4)), b = add(in[2], slice(p, 1, 4, 8));
                     return layer_norm(in[0], g, b, 1e-5, as_like(sets, in[0]));
                   }});
  for (OpCase& c : cases)
    if (c.name.find("generated") != std::string::npos) c.cuda_bf16 = kBf16Product;
  // Large, fast against reference: the vectorised row sums (forward, dx) against sequential double
  // sums, and layer_norm_backward's column tiles against the column-by-column reference (the same
  // sums in the same order). D is not a multiple of the tile width or a vector; two sets. The fast
  // kernel computes its outputs in the element type (float32: a few roundings per element).
  {
    int64_t N = 16, T = 40, D = 70, S = 2;
    std::vector<int32_t> idx(N);
    for (int64_t i = 0; i < N; ++i) idx[i] = static_cast<int32_t>(i % S);
    OpCase c{"layer_norm/large_tiles_16x40x70_S2",
             {uniform({N, T, D}, 1410, -1, 1).set_requires_grad(true), uniform({S, D}, 1411, -1, 1).set_requires_grad(true),
              uniform({S, D}, 1412, -1, 1).set_requires_grad(true), Tensor::from_ints(idx, {N})},
             [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2], 1e-5, in[3]); }};
    c.modes = kFastVsReference | kPerf;
    c.fast_forward = {1e-14, 2e-6};
    c.fast_grad = {1e-14, 2e-6};
    cases.push_back(c);
  }
  // Large, CUDA against the CPU: per-set rows of 300 (multi-warp rows).
  OpCase big{"layer_norm/large_per_set_8x50x300",
             {param({8, 50, 300}, 1413), param({3, 300}, 1414), param({3, 300}, 1415),
              Tensor::from_ints({0, 1, 2, 0, 1, 2, 0, 1}, {8})},
             [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2], 1e-5, in[3]); }};
  big.modes = kCudaFp32 | kPerf;
  cases.push_back(big);
  return cases;
}
HC_REGISTER_OP_CASES(layer_norm_cases);

TEST_CASE("layer_norm: hand-computed row and per-set selection") {
  // Row 1, 2, 3, 6: mean 3, biased var 3.5.
  Tensor x = Tensor::from_vector({1, 2, 3, 6, 2, 2, 2, 2}, {2, 1, 4}, DType::F64);
  Tensor g = Tensor::from_vector({1, 1, 1, 1, 2, 2, 2, 2}, {2, 4}, DType::F64);
  Tensor b = Tensor::from_vector({0, 0, 0, 0, 1, 1, 1, 1}, {2, 4}, DType::F64);
  Tensor sets = Tensor::from_ints({1, 0}, {2});
  std::vector<double> y = layer_norm(x, g, b, 1e-5, sets).to_vector();
  double inv = 1 / std::sqrt(3.5 + 1e-5);
  CHECK(y[0] == doctest::Approx((1 - 3) * inv * 2 + 1).epsilon(1e-14));  // sample 0 uses set 1
  CHECK(y[3] == doctest::Approx((6 - 3) * inv * 2 + 1).epsilon(1e-14));
  CHECK(y[4] == doctest::Approx(0.0).scale(1));  // a constant row normalises to 0 (+ set 0's shift 0)
  Tensor x32 = randn({4, 9, 33}, 3, 4.0).to(DType::F32);
  Tensor g1 = uniform({33}, 4, 0.5, 1.5), b1 = randn({33}, 5);
  CHECK(max_abs_diff(layer_norm(x32, g1.to(DType::F32), b1.to(DType::F32)).to_vector(),
                     layer_norm(x32.to(DType::F64), g1, b1).to_vector()) < 1e-5);
  CHECK_THROWS_AS(layer_norm(x, randn({3}, 1), randn({3}, 2)), Error);
  CHECK_THROWS_AS(layer_norm(x, g, b), Error);  // two sets without a set_index
  CHECK_THROWS_AS(layer_norm(x, g, b, 1e-5, Tensor::from_ints({0, 5}, {2})), Error);
}
