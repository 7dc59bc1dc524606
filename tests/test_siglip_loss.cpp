// siglip_loss against a direct implementation of SPEC 1.5's definition.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> siglip_loss_cases() {
  std::vector<OpCase> cases;
  // Raw embeddings (not normalised) exercise the formula over a wide logit range.
  cases.push_back({"siglip_loss/raw_4x3",
                   {param({4, 3}, 800), param({4, 3}, 801), param({1}, 802, 0.5), param({1}, 803)},
                   [](const std::vector<Tensor>& in) { return siglip_loss(in[0], in[1], in[2], in[3]); }});
  // As in training: L2-normalised embeddings, t' = ln 10, b = -10 at initialisation.
  cases.push_back({"siglip_loss/normalised_init",
                   {param({5, 4}, 804), param({5, 4}, 805),
                    Tensor::from_vector({std::log(10.0)}, {}, DType::F64).set_requires_grad(true),
                    Tensor::from_vector({-10.0}, {}, DType::F64).set_requires_grad(true)},
                   [](const std::vector<Tensor>& in) {
                     return siglip_loss(l2_normalize(in[0]), l2_normalize(in[1]), in[2], in[3]);
                   }});
  // Large, CUDA against the CPU: a training batch of 256 normalised embeddings.
  OpCase big{"siglip_loss/large_256x64",
             {l2_normalize(randn({256, 64}, 1720)).detach().set_requires_grad(true),
              l2_normalize(randn({256, 64}, 1721)).detach().set_requires_grad(true),
              Tensor::scalar(std::log(10.0), DType::F64).set_requires_grad(true),
              Tensor::scalar(-10.0, DType::F64).set_requires_grad(true)},
             [](const std::vector<Tensor>& in) { return siglip_loss(in[0], in[1], in[2], in[3]); }};
  big.modes = kCudaFp32 | kPerf;
  cases.push_back(big);
  return cases;
}
HC_REGISTER_OP_CASES(siglip_loss_cases);

// SPEC 1.5 as written: (1/n) sum_ij softplus(-z_ij l_ij) with log(1 + e^x) directly.
static double reference_loss(const std::vector<double>& v, const std::vector<double>& e, int n,
                             int E, double tp, double b) {
  double total = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double dot = 0;
      for (int k = 0; k < E; ++k) dot += v[i * E + k] * e[j * E + k];
      double l = std::exp(tp) * dot + b, z = i == j ? 1 : -1;
      total += std::log(1 + std::exp(-z * l));
    }
  return total / n;
}

TEST_CASE("siglip_loss: forward value equals the definition") {
  const int n = 6, E = 5;
  Tensor v = l2_normalize(randn({n, E}, 1)), e = l2_normalize(randn({n, E}, 2));
  for (double tp : {std::log(10.0), 0.3}) {
    for (double b : {-10.0, 1.5}) {
      Tensor loss = siglip_loss(v, e, Tensor::scalar(tp, DType::F64), Tensor::scalar(b, DType::F64));
      CHECK(loss.dim() == 0);
      CHECK(loss.item() ==
            doctest::Approx(reference_loss(v.to_vector(), e.to_vector(), n, E, tp, b)).epsilon(1e-12));
    }
  }
  // float32 agrees with float64.
  Tensor tp = Tensor::scalar(std::log(10.0)), bb = Tensor::scalar(-10.0);
  double l32 = siglip_loss(v.to(DType::F32), e.to(DType::F32), tp, bb).item();
  double l64 = siglip_loss(v, e, tp.to(DType::F64), bb.to(DType::F64)).item();
  CHECK(l32 == doctest::Approx(l64).epsilon(1e-6));
  // The gradient with respect to b at initialisation: sum_ij (sigmoid(l_ij) - [i=j]) / n.
  Tensor b = Tensor::scalar(-10.0, DType::F64);
  b.set_requires_grad(true);
  siglip_loss(v, e, Tensor::scalar(std::log(10.0), DType::F64), b).backward();
  CHECK(b.grad().item() < 0);  // positives dominate while b is very negative
  CHECK_THROWS_AS(siglip_loss(v, randn({n - 1, E}, 3), b, b), Error);
  CHECK_THROWS_AS(siglip_loss(v, e, randn({2}, 4), b), Error);
}
