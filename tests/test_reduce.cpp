// sum, mean, sum_all, sum_to.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> reduce_cases() {
  std::vector<OpCase> cases;
  cases.push_back({"sum/dim1", {param({3, 4, 2}, 400)},
                   [](const std::vector<Tensor>& in) { return sum(in[0], {1}); }});
  cases.push_back({"sum/dims0_2_keepdim", {param({3, 4, 2}, 401)},
                   [](const std::vector<Tensor>& in) { return sum(in[0], {0, -1}, true); }});
  cases.push_back({"mean/last", {param({3, 5}, 402)},
                   [](const std::vector<Tensor>& in) { return mean(in[0], {-1}); }});
  cases.push_back({"mean/dims0_1", {param({2, 3, 4}, 403)},
                   [](const std::vector<Tensor>& in) { return mean(in[0], {0, 1}); }});
  cases.push_back({"sum_all/3d", {param({2, 3, 2}, 404)},
                   [](const std::vector<Tensor>& in) { return sum_all(in[0]); }});
  cases.push_back({"sum_to/broadcast_inverse", {param({2, 3, 4}, 405)},
                   [](const std::vector<Tensor>& in) { return sum_to(in[0], {3, 1}); }});
  return cases;
}
HC_REGISTER_OP_CASES(reduce_cases);

TEST_CASE("reductions: forward values") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  CHECK(sum(x, {0}).to_vector() == std::vector<double>{5, 7, 9});
  CHECK(sum(x, {1}).to_vector() == std::vector<double>{6, 15});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1});
  CHECK(mean(x, {1}).to_vector() == std::vector<double>{2, 5});
  CHECK(mean(x, {0, 1}).item() == 3.5);
  CHECK(sum_all(x).item() == 21);
  CHECK(sum_all(x).dim() == 0);
  CHECK(sum_to(x, {3}).to_vector() == std::vector<double>{5, 7, 9});
  CHECK(sum_to(x, {2, 1}).to_vector() == std::vector<double>{6, 15});
  CHECK_THROWS_AS(sum_to(x, {2}), Error);
  // float32 sums accumulate in double: 1e6 ones plus small values keep their exact sum.
  Tensor ones = Tensor::ones({1000, 1000});
  CHECK(sum_all(ones).item() == 1e6);
}
