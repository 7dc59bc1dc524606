// soft_cross_entropy: cross-entropy of softmax(logits) against soft targets.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> soft_cross_entropy_cases() {
  std::vector<OpCase> cases;
  // Targets as a positive, not necessarily normalised, matrix: the gradient holds for any target.
  cases.push_back({"soft_cross_entropy/logits_and_target",
                   {param({3, 5}, 900, 2.0), uniform({3, 5}, 901, 0.05, 1.0).set_requires_grad(true)},
                   [](const std::vector<Tensor>& in) { return soft_cross_entropy(in[0], in[1]); }});
  // Distillation as in SPEC 2.2: target rows are a softmax of teacher similarities.
  cases.push_back({"soft_cross_entropy/softmax_target",
                   {param({4, 4}, 902), param({4, 4}, 903)},
                   [](const std::vector<Tensor>& in) {
                     Tensor e = exp(in[1]);
                     return soft_cross_entropy(scale(in[0], 3.0), div(e, sum(e, {1}, true)));
                   }});
  return cases;
}
HC_REGISTER_OP_CASES(soft_cross_entropy_cases);

TEST_CASE("soft_cross_entropy: forward values") {
  Tensor logits = Tensor::from_vector({1, 2, 3, 0, 0, 1000}, {2, 3}, DType::F64);
  // One-hot targets: the usual cross-entropy, mean over rows.
  Tensor onehot = Tensor::from_vector({0, 0, 1, 1, 0, 0}, {2, 3}, DType::F64);
  double row0 = -(3 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  double row1 = 1000;  // -(0 - lse), lse = 1000 + log(1 + 2e^-1000) = 1000 in double
  CHECK(soft_cross_entropy(logits, onehot).item() == doctest::Approx((row0 + row1) / 2).epsilon(1e-14));
  // Soft targets: a weighted sum of the per-class terms.
  Tensor soft = Tensor::from_vector({0.25, 0.25, 0.5, 0.5, 0.5, 0}, {2, 3}, DType::F64);
  double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  double expect0 = -(0.25 * (1 - lse0) + 0.25 * (2 - lse0) + 0.5 * (3 - lse0));
  double expect1 = -(0.5 * (0 - 1000) + 0.5 * (0 - 1000));
  CHECK(soft_cross_entropy(logits, soft).item() == doctest::Approx((expect0 + expect1) / 2).epsilon(1e-14));
  CHECK_THROWS_AS(soft_cross_entropy(logits, Tensor::zeros({3, 2}, DType::F64)), Error);
}
