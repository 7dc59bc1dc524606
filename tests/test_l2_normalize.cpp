// l2_normalize over the last dim.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> l2_normalize_cases() {
  std::vector<OpCase> cases;
  cases.push_back({"l2_normalize/rows", {param({4, 5}, 700)},
                   [](const std::vector<Tensor>& in) { return l2_normalize(in[0]); }});
  cases.push_back({"l2_normalize/3d", {param({2, 3, 4}, 701)},
                   [](const std::vector<Tensor>& in) { return l2_normalize(in[0]); }});
  return cases;
}
HC_REGISTER_OP_CASES(l2_normalize_cases);

TEST_CASE("l2_normalize: forward values") {
  Tensor x = Tensor::from_vector({3, 4, 0, 0, 0, -2}, {3, 2}, DType::F64);
  std::vector<double> y = l2_normalize(x).to_vector();
  CHECK(y[0] == doctest::Approx(0.6).epsilon(1e-15));
  CHECK(y[1] == doctest::Approx(0.8).epsilon(1e-15));
  CHECK(y[2] == 0.0);  // a zero row stays zero (divided by eps, not by 0)
  CHECK(y[3] == 0.0);
  CHECK(y[5] == -1.0);
  Tensor x32 = randn({16, 33}, 3).to(DType::F32);
  std::vector<double> r32 = l2_normalize(x32).to_vector(),
                      r64 = l2_normalize(x32.to(DType::F64)).to_vector();
  CHECK(max_abs_diff(r32, r64) < 1e-6);
}
