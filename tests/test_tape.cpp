// The tape: execution order, reverse sweep, accumulation, no-grad mode.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "core/grad_mode.h"
#include "core/tape.h"
#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static Tensor leaf(std::vector<double> v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, DType::F64);
  t.set_requires_grad(true);
  return t;
}

TEST_CASE("tape: records ops in execution order and clears after backward") {
  current_tape().clear();
  Tensor x = leaf({1, 2});
  Tensor y = exp(x);
  Tensor z = mul(y, x);
  Tensor s = sum_all(z);
  REQUIRE(current_tape().size() >= 4);
  std::vector<std::string> ops;
  for (const Node& n : current_tape().nodes()) ops.push_back(n.op);
  CHECK(ops[0] == "exp");
  CHECK(ops[1] == "mul");
  CHECK(ops[2] == "sum_all");
  s.backward();
  CHECK(current_tape().size() == 0);
  // d/dx sum(x e^x) = e^x (1 + x)
  std::vector<double> g = x.grad().to_vector();
  CHECK(g[0] == doctest::Approx(std::exp(1.0) * 2).epsilon(1e-15));
  CHECK(g[1] == doctest::Approx(std::exp(2.0) * 3).epsilon(1e-15));
  // Intermediate gradients are freed once their node has run; leaves keep theirs.
  CHECK_FALSE(y.grad().defined());
  CHECK_FALSE(y.is_leaf());
  CHECK(x.is_leaf());
}

TEST_CASE("tape: a tensor used twice receives the sum of both gradients") {
  Tensor x = leaf({3, -1});
  Tensor y = add(mul(x, x), x);  // x² + x
  sum_all(y).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{7, -1});  // 2x + 1
  // The same tensor on both sides of one op.
  Tensor a = leaf({2});
  sum_all(div(a, a)).backward();
  CHECK(a.grad().item() == doctest::Approx(0).scale(1));
}

TEST_CASE("tape: two backward passes on fresh tapes accumulate into leaves") {
  Tensor w = leaf({1, 2, 3});
  Tensor x = Tensor::from_vector({4, 5, 6}, {3}, DType::F64);
  sum_all(mul(w, x)).backward();
  CHECK(w.grad().to_vector() == std::vector<double>{4, 5, 6});
  sum_all(mul(w, x)).backward();  // a second forward records a fresh tape
  CHECK(w.grad().to_vector() == std::vector<double>{8, 10, 12});
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
  sum_all(scale(w, 2)).backward();
  CHECK(w.grad().to_vector() == std::vector<double>{2, 2, 2});
}

TEST_CASE("tape: a leaf gradient is its own tensor, not an alias of another gradient") {
  // add hands the same upstream gradient to both inputs; in-place changes to one leaf's grad
  // (as gradient clipping does) must not leak into the other's.
  Tensor a = leaf({1}), b = leaf({2});
  sum_all(add(a, b)).backward();
  CHECK_FALSE(a.grad().impl()->storage == b.grad().impl()->storage);
  a.grad().fill_(5);
  CHECK(b.grad().item() == 1);
}

TEST_CASE("tape: no-grad mode records nothing") {
  current_tape().clear();
  Tensor x = leaf({1, 2});
  {
    NoGradGuard guard;
    Tensor y = mul(exp(x), x);
    CHECK_FALSE(y.requires_grad());
    CHECK(current_tape().size() == 0);
    CHECK_THROWS_AS(y.backward(), Error);
  }
  CHECK(grad_enabled());
  Tensor y = exp(x);
  CHECK(y.requires_grad());
  CHECK(current_tape().size() == 1);
  current_tape().clear();
}

TEST_CASE("tape: inputs that do not require grad are not recorded; detach cuts the graph") {
  current_tape().clear();
  Tensor c = Tensor::from_vector({1, 2}, {2}, DType::F64);
  Tensor y = exp(mul(c, c));
  CHECK_FALSE(y.requires_grad());
  CHECK(current_tape().size() == 0);
  Tensor x = leaf({0.5, 1.5});
  Tensor d = exp(x).detach();
  CHECK_FALSE(d.requires_grad());
  Tensor z = add(mul(d, x), x);  // d is a constant here
  sum_all(z).backward();
  std::vector<double> g = x.grad().to_vector();
  CHECK(g[0] == doctest::Approx(std::exp(0.5) + 1).epsilon(1e-15));
}

TEST_CASE("tape: a deep chain runs without recursion") {
  Tensor x = leaf({1.0});
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = add_scalar(y, 1e-4);
  sum_all(y).backward();
  CHECK(x.grad().item() == 1.0);
}

TEST_CASE("tape: backward with an explicit upstream gradient; errors") {
  Tensor x = leaf({1, 2, 3});
  Tensor y = scale(x, 3);
  y.backward(Tensor::from_vector({1, 0, -1}, {3}, DType::F64));
  CHECK(x.grad().to_vector() == std::vector<double>{3, 0, -3});
  Tensor z = scale(x, 2);
  CHECK_THROWS_AS(z.backward(), Error);  // three elements need an explicit gradient
  current_tape().clear();
  CHECK_THROWS_AS(Tensor::ones({2}, DType::I32).set_requires_grad(true), Error);
}
