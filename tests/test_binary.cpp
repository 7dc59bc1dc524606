// add, sub, mul, div: hand-computed forward values and broadcasting gradient checks.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> binary_cases() {
  std::vector<OpCase> cases;
  struct Variant {
    const char* name;
    Shape a, b;
  };
  const Variant variants[] = {{"same", {2, 3}, {2, 3}},
                              {"row_broadcast", {4, 3}, {3}},
                              {"col_broadcast", {2, 3, 4}, {2, 1, 4}},
                              {"both_broadcast", {3, 1}, {1, 4}},
                              {"scalar", {2, 3}, {}}};
  const std::pair<const char*, Tensor (*)(const Tensor&, const Tensor&)> ops[] = {
      {"add", add}, {"sub", sub}, {"mul", mul}, {"div", div}};
  uint64_t seed = 100;
  for (auto& op : ops)
    for (const Variant& v : variants) {
      OpCase c;
      c.name = std::string(op.first) + "/" + v.name;
      // Divisors kept away from zero.
      Tensor b = std::string(op.first) == "div" ? uniform(v.b, seed++, 0.5, 2.0).set_requires_grad(true)
                                                 : param(v.b, seed++);
      c.inputs = {param(v.a, seed++), b};
      auto f = op.second;
      c.fn = [f](const std::vector<Tensor>& in) { return f(in[0], in[1]); };
      cases.push_back(c);
    }
  // A tensor used twice in one op: x * x.
  OpCase sq;
  sq.name = "mul/same_tensor_twice";
  sq.inputs = {param({5}, 7)};
  sq.fn = [](const std::vector<Tensor>& in) { return mul(in[0], in[0]); };
  cases.push_back(sq);
  return cases;
}
HC_REGISTER_OP_CASES(binary_cases);

TEST_CASE("binary ops: forward values with broadcasting") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  Tensor b = Tensor::from_vector({10, 20, 30}, {3}, DType::F64);
  CHECK(add(a, b).to_vector() == std::vector<double>{11, 22, 33, 14, 25, 36});
  CHECK(sub(a, b).to_vector() == std::vector<double>{-9, -18, -27, -6, -15, -24});
  CHECK(mul(a, b).to_vector() == std::vector<double>{10, 40, 90, 40, 100, 180});
  Tensor col = Tensor::from_vector({2, 4}, {2, 1}, DType::F64);
  CHECK(div(a, col).to_vector() == std::vector<double>{0.5, 1, 1.5, 1, 1.25, 1.5});
  CHECK(add(a, Tensor::scalar(1, DType::F64)).shape() == Shape{2, 3});
  CHECK(add(col, Tensor::from_vector({1, 2, 3}, {1, 3}, DType::F64)).to_vector() ==
        std::vector<double>{3, 4, 5, 5, 6, 7});
  CHECK_THROWS_WITH_AS(add(a, Tensor::zeros({4}, DType::F64)),
                       "shapes [2, 3] and [4] cannot be broadcast together", Error);
  CHECK_THROWS_AS(add(a, Tensor::zeros({3})), Error);  // float64 + float32: mixed types refused
}
