// The op registry, in the style of ggml's test-backend-ops: every op file registers small cases
// (inputs plus a function of them), and test_op_registry.cpp runs every case in each mode:
//  - gradient check: float64 on the CPU, analytic gradients against central finite differences
//    for every input that requires grad;
//  - (with the CUDA backend) CUDA against CPU, forward and backward.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace hc::test {

struct OpCase {
  std::string name;  // "<op>/<variant>", e.g. "conv2d/depthwise_stride2"
  // float64 CPU tensors (index tensors int32). Inputs with requires_grad set are checked.
  std::vector<Tensor> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  // Gradient check: ||analytic - numeric||_2 / ||numeric||_2 must not exceed rtol.
  double rtol = 1e-6;
  double fd_eps = 1e-6;  // central difference step
};

using CaseFactory = std::function<std::vector<OpCase>()>;
std::vector<CaseFactory>& case_factories();
std::vector<OpCase> all_op_cases();  // every registered case, fresh inputs

struct Registrar {
  explicit Registrar(CaseFactory f) { case_factories().push_back(std::move(f)); }
};

// Registers a function returning std::vector<OpCase>:  HC_REGISTER_OP_CASES(conv2d_cases)
#define HC_REGISTER_OP_CASES(fn) static ::hc::test::Registrar fn##_registrar(fn)

// Deterministic test data (float64 on the CPU).
Tensor randn(const Shape& shape, uint64_t seed, double std = 1.0);
Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi);
// randn(...) with requires_grad set: an input the gradient check covers.
Tensor param(const Shape& shape, uint64_t seed, double std = 1.0);

struct GradCheckResult {
  int input = 0;             // index into OpCase::inputs
  double rel_err = 0;        // ||a - n|| / ||n||
  double numeric_norm = 0;   // ||n||: a check of an all-zero gradient proves nothing
};
// Runs the case's gradient check; the projection L = sum(w * fn(inputs)) uses fixed random w.
std::vector<GradCheckResult> gradient_check(const OpCase& c);

// `t` on the device of `like`, and with its float dtype when t is floating (index tensors stay
// int32); undefined stays undefined. Cases use it for tensors they capture or make inside fn, so
// that one case runs in float64 on the CPU (gradient check) and in float32 on CUDA.
Tensor as_like(const Tensor& t, const Tensor& like);

// max_i |a_i - b_i|
double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace hc::test
