// Activations and scalar arithmetic: reference values and gradient checks.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> unary_cases() {
  const std::pair<const char*, Tensor (*)(const Tensor&)> ops[] = {
      {"neg", neg},         {"exp", exp},         {"sigmoid", sigmoid}, {"silu", silu},
      {"gelu", gelu},       {"softplus", softplus}};
  std::vector<OpCase> cases;
  uint64_t seed = 200;
  for (auto& op : ops) {
    OpCase c;
    c.name = std::string(op.first) + "/3x4";
    // Values out to +-6 cover both branches of the stable sigmoid and softplus.
    c.inputs = {uniform({3, 4}, seed++, -6, 6).set_requires_grad(true)};
    auto f = op.second;
    c.fn = [f](const std::vector<Tensor>& in) { return f(in[0]); };
    cases.push_back(c);
  }
  OpCase lg{"log/positive", {uniform({7}, 300, 0.2, 3).set_requires_grad(true)},
            [](const std::vector<Tensor>& in) { return log(in[0]); }};
  OpCase sq{"sqrt/positive", {uniform({7}, 301, 0.2, 3).set_requires_grad(true)},
            [](const std::vector<Tensor>& in) { return sqrt(in[0]); }};
  OpCase sc{"scale/-2.5", {param({2, 5}, 302)},
            [](const std::vector<Tensor>& in) { return scale(in[0], -2.5); }};
  OpCase as{"add_scalar/3", {param({2, 5}, 303)},
            [](const std::vector<Tensor>& in) { return add_scalar(in[0], 3.0); }};
  // A chain: gelu(silu(x) * sigmoid(x)).
  OpCase chain{"unary/chain", {param({6}, 304)}, [](const std::vector<Tensor>& in) {
                 return gelu(mul(silu(in[0]), sigmoid(in[0])));
               }};
  // ReLU away from its kink (finite differences across x = 0 would see half a step).
  OpCase re{"relu/3x4", {Tensor::from_vector({-2.5, -0.3, 0.4, 1.7, -1.1, 0.9, 2.2, -0.05, 0.06, -3, 3, 0.5}, {3, 4},
                                            DType::F64).set_requires_grad(true)},
            [](const std::vector<Tensor>& in) { return relu(in[0]); }};
  for (OpCase* c : {&lg, &sq, &sc, &as, &chain, &re}) cases.push_back(*c);
    // Large, fast against reference: the float32 transcendental activations through Eigen's
  // vectorised exp and erf, within a few ulp of libm: |diff| <= 1e-6 (1 + |ref|), forward and
  // backward; float64 takes the reference loop either way. Inputs over [-12, 12] (both saturated
  // ends and the curved middle) plus exact special values.
  int64_t n = 70001;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = -12.0 + 24.0 * static_cast<double>(i) / static_cast<double>(n - 1);
  v[0] = 0.0;
  v[1] = -100.0;
  v[2] = 100.0;
  for (auto& op : {std::pair<const char*, Tensor (*)(const Tensor&)>{"gelu", gelu}, {"silu", silu}, {"sigmoid", sigmoid}}) {
    auto f = op.second;
    OpCase c{std::string(op.first) + "/large_70001", {Tensor::from_vector(v, {n}, DType::F64).set_requires_grad(true)},
             [f](const std::vector<Tensor>& in) { return f(in[0]); }};
    c.modes = kFastVsReference | kPerf;
    c.fast_forward = c.fast_grad = {0, 1e-6};
    cases.push_back(c);
  }
  return cases;
}
HC_REGISTER_OP_CASES(unary_cases);

TEST_CASE("unary ops: forward values against closed forms") {
  Tensor x = Tensor::from_vector({-30, -1, 0, 0.5, 2, 30}, {6}, DType::F64);
  std::vector<double> xs = x.to_vector();
  std::vector<double> s = sigmoid(x).to_vector(), sp = softplus(x).to_vector(),
                      g = gelu(x).to_vector(), si = silu(x).to_vector();
  for (size_t i = 0; i < xs.size(); ++i) {
    double v = xs[i];
    double sig = 1 / (1 + std::exp(-v));
    CHECK(s[i] == doctest::Approx(sig).epsilon(1e-15));
    CHECK(sp[i] == doctest::Approx(std::log1p(std::exp(v))).epsilon(1e-14));
    CHECK(g[i] == doctest::Approx(0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))).epsilon(1e-14));
    CHECK(si[i] == doctest::Approx(v * sig).epsilon(1e-14));
  }
  // GELU is the erf form, not the tanh approximation: at x = 1 they differ by ~1.6e-4.
  CHECK(gelu(Tensor::scalar(1.0, DType::F64)).item() == doctest::Approx(0.8413447460685429).epsilon(1e-15));
  // Float32 softplus stays finite for large inputs.
  Tensor big = Tensor::from_vector({-100, 100}, {2});
  std::vector<double> spb = softplus(big).to_vector();
  CHECK(spb[0] == doctest::Approx(0.0));
  CHECK(spb[1] == 100.0);
  CHECK(relu(x).to_vector() == std::vector<double>{0, 0, 0, 0.5, 2, 30});
  CHECK(scale(x, 2).to_vector()[3] == 1.0);
  CHECK(add_scalar(x, 1).to_vector()[2] == 1.0);
}
