// set_mean: the mean of each set's rows.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> set_mean_cases() {
  Tensor idx = Tensor::from_ints({0, 2, 1, 0, 2}, {5});
  return {{"set_mean/unequal_sets", {param({5, 3}, 1900)},
           [idx](const std::vector<Tensor>& in) { return set_mean(in[0], as_like(idx, in[0]), 3); }}};
}
HC_REGISTER_OP_CASES(set_mean_cases);

TEST_CASE("set_mean: values; empty sets and bad indices are errors") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2}, DType::F64);
  CHECK(set_mean(x, Tensor::from_ints({1, 0, 1}, {3}), 2).to_vector() == std::vector<double>{3, 4, 3, 4});
  CHECK(set_mean(x, Tensor::from_ints({0, 0, 0}, {3}), 1).to_vector() == std::vector<double>{3, 4});
  CHECK_THROWS_WITH_AS(set_mean(x, Tensor::from_ints({0, 0, 2}, {3}), 3), doctest::Contains("set 1 is empty"), Error);
  CHECK_THROWS_AS(set_mean(x, Tensor::from_ints({0, 0, 5}, {3}), 2), Error);
}
