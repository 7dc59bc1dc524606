// softmax over the last dim.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> softmax_cases() {
  std::vector<OpCase> cases;
  cases.push_back({"softmax/3x5", {param({3, 5}, 1500, 2.0)}, [](const std::vector<Tensor>& in) { return softmax(in[0]); }});
  cases.push_back({"softmax/2x3x4", {param({2, 3, 4}, 1501)}, [](const std::vector<Tensor>& in) { return softmax(in[0]); }});
  OpCase big{"softmax/large_100x1000", {param({100, 1000}, 1520, 5.0)},
             [](const std::vector<Tensor>& in) { return softmax(in[0]); }};
  big.modes = kCudaFp32 | kPerf;
  cases.push_back(big);
  return cases;
}
HC_REGISTER_OP_CASES(softmax_cases);

TEST_CASE("softmax: values, normalisation, stability") {
  Tensor x = Tensor::from_vector({1, 2, 3, 1000, 1000, 1001}, {2, 3}, DType::F64);
  std::vector<double> y = softmax(x).to_vector();
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(y[0] == doctest::Approx(std::exp(1.0) / z).epsilon(1e-15));
  CHECK(y[2] == doctest::Approx(std::exp(3.0) / z).epsilon(1e-15));
  double z2 = 2 + std::exp(1.0);
  CHECK(y[5] == doctest::Approx(std::exp(1.0) / z2).epsilon(1e-14));  // no overflow at 1000
  Tensor r = randn({7, 9}, 3, 5.0).to(DType::F32);
  std::vector<double> s = sum(softmax(r), {1}).to_vector();
  for (double v : s) CHECK(v == doctest::Approx(1.0).epsilon(1e-6));
}
