// The op registry, in the style of ggml's test-backend-ops: every op's test file registers cases
// (inputs plus a function of them, with the case's own tolerances and the modes it runs in), and
// test_op_registry.cpp / test_cuda_ops.cpp run every case in each of its modes:
//  - kGradCheck: float64 on the CPU, analytic gradients against central finite differences for
//    every input that requires grad (tiny shapes);
//  - kCudaFp32 / kCudaBf16: (with a GPU) CUDA against the CPU in float32, forward and every
//    gradient, by normalised mean squared error, in each math mode;
//  - kFastVsReference: the CPU's fast kernels against their plain references
//    (ops/cpu/reference_cpu.h, switched by ReferenceKernels), in float64 and float32 with two
//    threads, forward and every gradient, by max |fast - ref| / (1 + |ref|), on shapes large
//    enough to take the fast paths;
//  - kCpuBf16: the CPU in MathMode::BF16 against the CPU in float32, forward and every gradient,
//    by NMSE (products and dense convolutions round their inputs to bfloat16 there);
//  - kPerf: time per backend, with the case's matrix-product FLOPs and bytes moved
//    (`make bench-ops`; never a test assertion).
// A case is small (the default: gradient check and CUDA in both modes) or large (kLarge: shapes
// too big for finite differences, run in the other modes).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace hc::test {

enum Mode : unsigned {
  kGradCheck = 1u << 0,
  kCudaFp32 = 1u << 1,
  kCudaBf16 = 1u << 2,
  kFastVsReference = 1u << 3,
  kPerf = 1u << 4,
  kCpuBf16 = 1u << 5,
  kSmall = kGradCheck | kCudaFp32 | kCudaBf16 | kCpuBf16,
  kLarge = kCudaFp32 | kFastVsReference | kPerf | kCpuBf16,
};

// A bound per float dtype.
struct DTypeBound {
  double f64 = 0, f32 = 0;
};

// NMSE bounds of CUDA against the CPU in bf16 mode (products and convolutions take bf16-rounded
// inputs: about 2^-9 relative per input, so NMSE ~1e-6..1e-5 over a product; chains compound it).
constexpr double kBf16Product = 1e-4;  // one matrix product or dense convolution
constexpr double kBf16Chain = 1e-3;    // several products in a row (whole pipelines)

struct OpCase {
  std::string name;  // "<op>/<variant>", e.g. "conv2d/depthwise_stride2"
  // float64 CPU tensors (index tensors int32). Inputs with requires_grad set have their
  // gradients checked (every mode) and compared (CUDA, fast-vs-reference).
  std::vector<Tensor> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  // Gradient check: ||analytic - numeric||_2 / ||numeric||_2 must not exceed rtol.
  double rtol = 1e-6;
  double fd_eps = 1e-6;  // central difference step
  unsigned modes = kSmall;
  // CUDA against the CPU: NMSE of the forward output and of every gradient, per math mode. The
  // FP32 default is the bound of float32 kernels that sum in another order; bf16 is unaffected
  // for ops without a product (identical float32 kernels in both modes).
  double cuda_fp32 = 1e-7;
  double cuda_bf16 = 1e-7;
  // The CPU in bf16 against the CPU in float32 (NMSE); negative: cuda_bf16's bound, which holds
  // here too (the CPU rounds the same inputs and keeps its convolution outputs and attention in
  // float32, where cuDNN writes bf16). Ops without a product must give the same bits.
  double cpu_bf16 = -1;
  // Fast kernels against their references: max |fast - ref| / (1 + |ref|) of the forward output
  // and of the gradients, per dtype (0: the same bits).
  DTypeBound fast_forward{}, fast_grad{};
};

using CaseFactory = std::function<std::vector<OpCase>()>;
std::vector<CaseFactory>& case_factories();
std::vector<OpCase> all_op_cases();                 // every registered case, fresh inputs
std::vector<OpCase> op_cases_in(unsigned mode);    // those that run in `mode`

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

// One run of a case: its inputs converted to `dtype` (floating ones) on `device`, the forward
// output, and the gradients of L = sum(w * y) (w fixed random) for the inputs that require grad,
// in input order. The fixture every comparing mode shares.
struct CaseRun {
  std::vector<double> y;
  std::vector<std::vector<double>> grads;
};
CaseRun run_case(const OpCase& c, Device device, DType dtype);
// The case's inputs as run_case prepares them (fresh tensors; requires_grad as in the case).
std::vector<Tensor> case_inputs(const OpCase& c, Device device, DType dtype);

// `t` on the device of `like`, and with its float dtype when t is floating (index tensors stay
// int32); undefined stays undefined. Cases use it for tensors they capture or make inside fn, so
// that one case runs in float64 on the CPU (gradient check) and in float32 on CUDA.
Tensor as_like(const Tensor& t, const Tensor& like);

// max_i |a_i - b_i|
double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b);
// max_i |a_i - b_i| / (1 + |b_i|)
double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace hc::test
