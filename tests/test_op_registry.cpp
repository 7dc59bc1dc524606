// Runs every registered op case (tests/op_registry.h) in the modes that need no GPU: the gradient
// check, the CPU's fast kernels against their references, and (on request) the timing.
// The CUDA modes are in test_cuda_ops.cpp.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/backend.h"
#include "core/flops.h"
#include "core/grad_mode.h"
#include "core/tape.h"
#include "ops/cpu/reference_cpu.h"
#include "tests/cuda_test_util.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

namespace {

struct ThreadCount {
  int saved = omp_get_max_threads();
  explicit ThreadCount(int n) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved); }
};

}  // namespace

TEST_CASE("op registry, gradient check: every case, float64, central differences") {
  std::vector<OpCase> cases = op_cases_in(kGradCheck);
  REQUIRE(cases.size() > 0);
  int checked = 0;
  double worst = 0;
  for (const OpCase& c : cases) {
    CAPTURE(c.name);
    std::vector<GradCheckResult> results = gradient_check(c);
    CHECK_MESSAGE(!results.empty(), "case has no input that requires grad");
    for (const GradCheckResult& r : results) {
      CAPTURE(r.input);
      std::printf("gradcheck %-44s input %d  rel_err %.2e  (tol %.0e, |grad| %.2e)\n",
                  c.name.c_str(), r.input, r.rel_err, c.rtol, r.numeric_norm);
      CHECK(r.numeric_norm > 0);  // an all-zero gradient would make the check vacuous
      CHECK(r.rel_err <= c.rtol);
      worst = std::max(worst, r.rel_err);
      ++checked;
    }
  }
  std::printf("gradcheck: %zu cases, %d input gradients, worst rel_err %.2e\n", cases.size(),
              checked, worst);
}

TEST_CASE("op registry, fast vs reference: the CPU's fast kernels agree with their references") {
  // Two threads, so that the kernels that split one product or one reduction over threads do.
  ThreadCount two(2);
  std::vector<OpCase> cases = op_cases_in(kFastVsReference);
  REQUIRE(cases.size() > 0);
  int compared = 0;
  for (const OpCase& c : cases) {
    for (DType dt : {DType::F64, DType::F32}) {
      std::string dtype = dtype_name(dt);
      CAPTURE(c.name);
      CAPTURE(dtype);
      CaseRun fast = run_case(c, Device::CPU, dt), ref;
      {
        ReferenceKernels on(true);
        ref = run_case(c, Device::CPU, dt);
      }
      double fwd_bound = dt == DType::F64 ? c.fast_forward.f64 : c.fast_forward.f32;
      double grad_bound = dt == DType::F64 ? c.fast_grad.f64 : c.fast_grad.f32;
      double fwd = max_rel_diff(fast.y, ref.y), grad = 0;
      CHECK(fwd <= fwd_bound);
      REQUIRE(fast.grads.size() == ref.grads.size());
      for (size_t k = 0; k < fast.grads.size(); ++k) {
        CAPTURE(k);
        double g = max_rel_diff(fast.grads[k], ref.grads[k]);
        CHECK(g <= grad_bound);
        grad = std::max(grad, g);
      }
      std::printf("fast-vs-ref %-7s %-44s forward %.1e (bound %.0e)  grads %.1e (bound %.0e)\n", dtype.c_str(),
                  c.name.c_str(), fwd, fwd_bound, grad, grad_bound);
      ++compared;
    }
  }
  std::printf("fast-vs-ref: %d case runs\n", compared);
}

// The CPU's bf16 mode (ops/cpu/gemm_bf16_cpu.h) against its float32 mode, every case marked
// kCpuBf16, forward and gradients, by NMSE within the case's bound.
TEST_CASE("op registry, CPU bf16: every case against float32, NMSE within its bound") {
  ThreadCount two(2);
  Backend& cpu = backend_for(Device::CPU);
  std::vector<OpCase> cases = op_cases_in(kCpuBf16);
  REQUIRE(cases.size() > 0);
  int compared = 0, rounded = 0;
  double worst = 0;
  for (const OpCase& c : cases) {
    CAPTURE(c.name);
    double bound = c.cpu_bf16 >= 0 ? c.cpu_bf16 : c.cuda_bf16;
    CaseRun fp32 = run_case(c, Device::CPU, DType::F32), bf16;
    cpu.set_math_mode(MathMode::BF16);
    try {
      bf16 = run_case(c, Device::CPU, DType::F32);
    } catch (...) {
      cpu.set_math_mode(MathMode::FP32);
      throw;
    }
    cpu.set_math_mode(MathMode::FP32);
    std::vector<double> errs = {nmse(bf16.y, fp32.y)};
    REQUIRE(bf16.grads.size() == fp32.grads.size());
    for (size_t k = 0; k < fp32.grads.size(); ++k) errs.push_back(nmse(bf16.grads[k], fp32.grads[k]));
    size_t at = std::max_element(errs.begin(), errs.end()) - errs.begin();
    double e = errs[at];
    CHECK(e <= bound);
    if (e > 0) ++rounded;
    worst = std::max(worst, e);
    std::printf("cpu-bf16 %-44s worst nmse %.2e (bound %.0e) in %s\n", c.name.c_str(), e, bound,
                at == 0 ? "the output" : ("gradient " + std::to_string(at - 1)).c_str());
    ++compared;
  }
  // The mode must do something: every case with a product differs from float32.
  CHECK(rounded >= 20);
  std::printf("cpu-bf16: %d cases, %d differ from float32, worst nmse %.2e\n", compared, rounded, worst);
}

// make bench-ops: forward + backward of every kPerf case in float32, on each backend present;
// one JSON line per case and backend. A measurement, not a test: skipped unless asked for.
TEST_CASE("op registry, perf: time per backend, FLOPs and bytes" * doctest::skip()) {
  std::vector<Device> devices = {Device::CPU};
  if (cuda_available()) devices.push_back(Device::CUDA);
  for (const OpCase& c : op_cases_in(kPerf)) {
    // Matrix-product FLOPs of the forward (core/flops.h; a backward pass holds twice as many) and
    // the bytes of the inputs and the output.
    double flops = 0, bytes = 0;
    {
      NoGradGuard ng;
      FlopCount count;
      std::vector<Tensor> in = case_inputs(c, Device::CPU, DType::F32);
      Tensor y = c.fn(in);
      flops = count.total();
      for (const Tensor& t : in) bytes += t.numel() * dtype_size(t.dtype());
      bytes += y.numel() * dtype_size(y.dtype());
    }
    for (Device d : devices) {
      std::vector<Tensor> in = case_inputs(c, d, DType::F32);
      bool backward = false;
      for (const Tensor& t : in) backward = backward || t.requires_grad();
      std::vector<double> ms;
      for (int rep = 0; rep < 6; ++rep) {  // the first is a warm-up (allocations, cuDNN plans)
        current_tape().clear();
        for (const Tensor& t : in) t.zero_grad();
        backend_for(d).synchronize();
        auto t0 = std::chrono::steady_clock::now();
        Tensor y = c.fn(in);
        if (backward) y.backward(Tensor::ones(y.shape(), DType::F32, d));
        backend_for(d).synchronize();
        if (rep > 0) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      current_tape().clear();
      std::sort(ms.begin(), ms.end());
      double total = (backward ? 3 : 1) * flops, median = ms[ms.size() / 2];
      nlohmann::json j = {{"case", c.name},
                          {"backend", device_name(d)},
                          {"threads", omp_get_max_threads()},
                          {"backward", backward},
                          {"gflop", total / 1e9},
                          {"mbytes", bytes / 1e6},
                          {"ms_median", median},
                          {"ms_min", ms.front()},
                          {"gflop_per_s", total / 1e6 / median}};
      std::printf("%s\n", j.dump().c_str());
    }
  }
}
