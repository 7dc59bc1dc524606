// reshape, permute/transpose, slice, concat.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> layout_cases() {
  std::vector<OpCase> cases;
  cases.push_back({"reshape/infer", {param({2, 3, 4}, 500)},
                   [](const std::vector<Tensor>& in) { return mul(reshape(in[0], {4, -1}), reshape(in[0], {4, 6})); }});
  cases.push_back({"permute/0231", {param({2, 3, 4, 5}, 501)},
                   [](const std::vector<Tensor>& in) { return permute(in[0], {0, 2, 3, 1}); }});
  cases.push_back({"transpose/last_two", {param({2, 3, 4}, 502)},
                   [](const std::vector<Tensor>& in) { return transpose(in[0], -1, -2); }});
  cases.push_back({"slice/middle_dim", {param({3, 6, 2}, 503)},
                   [](const std::vector<Tensor>& in) { return slice(in[0], 1, 2, 5); }});
  cases.push_back({"slice/two_overlapping", {param({8}, 504)}, [](const std::vector<Tensor>& in) {
                     return mul(slice(in[0], 0, 0, 5), slice(in[0], 0, 3, 8));
                   }});
  cases.push_back({"concat/dim1", {param({2, 3, 2}, 505), param({2, 1, 2}, 506), param({2, 2, 2}, 507)},
                   [](const std::vector<Tensor>& in) { return concat({in[0], in[1], in[2]}, 1); }});
  cases.push_back({"concat/dim0_same_tensor", {param({2, 3}, 508)},
                   [](const std::vector<Tensor>& in) { return concat({in[0], in[0]}, 0); }});
  return cases;
}
HC_REGISTER_OP_CASES(layout_cases);

TEST_CASE("layout ops: forward values") {
  Tensor x = Tensor::from_vector({0, 1, 2, 3, 4, 5}, {2, 3}, DType::F64);
  Tensor r = reshape(x, {3, -1});
  CHECK(r.shape() == Shape{3, 2});
  CHECK(r.impl()->storage == x.impl()->storage);  // a view, no copy
  CHECK_THROWS_AS(reshape(x, {4, -1}), Error);
  CHECK(transpose(x, 0, 1).to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
  Tensor y = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
                                  20, 21, 22, 23},
                                 {2, 3, 4}, DType::F64);
  Tensor p = permute(y, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.to_vector()[0 * 6 + 1 * 3 + 2] == 20);  // p[0,1,2] = y[1,2,0]
  CHECK(p.to_vector()[3 * 6 + 0 * 3 + 1] == 7);   // p[3,0,1] = y[0,1,3]
  CHECK_THROWS_AS(permute(y, {0, 0, 1}), Error);
  CHECK(slice(x, 1, 1, 3).to_vector() == std::vector<double>{1, 2, 4, 5});
  CHECK_THROWS_AS(slice(x, 1, 2, 4), Error);
  Tensor c = concat({x, Tensor::from_vector({9, 9}, {2, 1}, DType::F64)}, 1);
  CHECK(c.to_vector() == std::vector<double>{0, 1, 2, 9, 3, 4, 5, 9});
  CHECK_THROWS_AS(concat({x, Tensor::zeros({3, 1}, DType::F64)}, 1), Error);
}
