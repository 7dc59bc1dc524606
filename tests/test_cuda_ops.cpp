// The CUDA backend against the CPU backend, op by op: the op registry's CUDA modes
// (tests/op_registry.h). Every case marked kCudaFp32 / kCudaBf16 (the small ones, and the large
// shapes that reach multi-warp rows, many blocks and big GEMMs) runs in float32 on both devices,
// and the forward output and the gradient of every input that requires grad are compared by
// normalised mean squared error (tests/cuda_test_util.h) against the case's own bound:
//  - FP32 mode: 1e-7 by default (float32 kernels that sum in another order differ by ~1e-7
//    relative per element, i.e. NMSE ~1e-13);
//  - BF16 mode: ops without a matrix product or convolution are unaffected and keep 1e-7; cases
//    with products see inputs rounded to bf16 (relative error 2^-9 = 2e-3 per input) and carry
//    kBf16Product or kBf16Chain.
// Without a GPU every test here is skipped with a message saying so.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include "core/grad_mode.h"
#include "core/tape.h"
#include "ops/ops.h"
#include "bench/gpu_peak.h"
#include "tests/cli_runner.h"
#include "tests/cuda_test_util.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

namespace {

void compare_all(MathMode mode) {
  std::vector<OpCase> cases = op_cases_in(mode == MathMode::FP32 ? kCudaFp32 : kCudaBf16);
  REQUIRE(cases.size() > 0);
  CudaMathModeGuard guard(mode);
  int compared = 0;
  double worst = 0;
  for (const OpCase& c : cases) {
    CAPTURE(c.name);
    double bound = mode == MathMode::FP32 ? c.cuda_fp32 : c.cuda_bf16;
    CaseRun cpu = run_case(c, Device::CPU, DType::F32);
    CaseRun gpu = run_case(c, Device::CUDA, DType::F32);
    double e = nmse(gpu.y, cpu.y);
    std::printf("cuda-vs-cpu %s %-44s forward nmse %.2e (bound %.0e)\n", math_mode_name(mode), c.name.c_str(), e, bound);
    CHECK(e <= bound);
    worst = std::max(worst, e);
    REQUIRE(gpu.grads.size() == cpu.grads.size());
    CHECK(!cpu.grads.empty());
    for (size_t k = 0; k < cpu.grads.size(); ++k) {
      CAPTURE(k);
      double g = nmse(gpu.grads[k], cpu.grads[k]);
      std::printf("cuda-vs-cpu %s %-44s grad %zu  nmse %.2e (bound %.0e)\n", math_mode_name(mode), c.name.c_str(), k, g,
                  bound);
      CHECK(g <= bound);
      worst = std::max(worst, g);
      ++compared;
    }
  }
  std::printf("cuda-vs-cpu %s: %zu cases, %d gradients, worst nmse %.2e\n", math_mode_name(mode), cases.size(), compared,
              worst);
}

}  // namespace

TEST_CASE("cuda: every registered op case matches the CPU in float32 (per-case NMSE bounds, 1e-7 by default)") {
  if (!gpu_or_skip("CUDA-vs-CPU op cases, fp32")) return;
  compare_all(MathMode::FP32);
}

TEST_CASE("cuda: every registered op case matches the CPU in bf16 mixed precision (per-case bounds)") {
  if (!gpu_or_skip("CUDA-vs-CPU op cases, bf16")) return;
  compare_all(MathMode::BF16);
}

TEST_CASE("cuda: refusals and errors are loud") {
  if (!gpu_or_skip("CUDA error handling")) return;
  // float64 is CPU-only: the first kernel to touch it says so.
  CHECK_THROWS_WITH_AS(Tensor::ones({4}, DType::F64, Device::CUDA), doctest::Contains("needs float32"), Error);
  // Index errors found inside kernels surface at the next wait for the GPU, naming the op.
  Tensor w = Tensor::ones({3, 2}, DType::F32, Device::CUDA);
  CHECK_THROWS_WITH_AS(embedding(w, Tensor::from_ints({1, 3}, {2}, Device::CUDA)).to_vector(),
                       doctest::Contains("embedding: token id 3 at position 1"), Error);
  // After an error the backend works again.
  CHECK(embedding(w, Tensor::from_ints({2, 0}, {2}, Device::CUDA)).to_vector() == std::vector<double>{1, 1, 1, 1});
  // Mixed devices are refused by the ops.
  CHECK_THROWS_AS(add(Tensor::ones({2}), Tensor::ones({2}, DType::F32, Device::CUDA)), Error);
}

TEST_CASE("bf16 mixed precision: the CPU backend has both modes, and an unknown one is named") {
  Backend& cpu = backend_for(Device::CPU);
  cpu.set_math_mode(MathMode::BF16);  // ops/cpu/gemm_bf16_cpu.h; tests/test_op_registry.cpp checks its error
  CHECK(cpu.math_mode() == MathMode::BF16);
  cpu.set_math_mode(MathMode::FP32);
  CHECK(cpu.math_mode() == MathMode::FP32);
  CHECK_THROWS_WITH_AS(parse_math_mode("fp16"), doctest::Contains("unknown --precision 'fp16'"), Error);
}

TEST_CASE("--device cuda without a GPU is a clear error in every command that takes it") {
  std::string why;
  if (cuda_available(&why)) {
    MESSAGE("a GPU is present: the refusal path is not exercised here");
    return;
  }
  for (const char* cmd : {"train --image convnet-nano --text text-nano --hyper none --data synthetic --steps 1 "
                          "--batch 4 --out /tmp/hc_nogpu --device cuda",
                          "eval --ckpt /nonexistent.safetensors --data synthetic --device cuda",
                          "export --ckpt /nonexistent.safetensors --image-only -o /tmp/x.safetensors --device cuda",
                          "classify --model /nonexistent.safetensors --device cuda x.png"}) {
    CAPTURE(cmd);
    hc_test::RunResult r = hc_test::run_cli(cmd);
    CHECK(r.status != 0);
    CHECK(r.out.find("--device cuda: " + why) != std::string::npos);
  }
  // A misspelt device or precision is named.
  hc_test::RunResult r = hc_test::run_cli("eval --ckpt x --data synthetic --device gpu");
  CHECK(r.out.find("unknown --device 'gpu'") != std::string::npos);
  r = hc_test::run_cli("train --image convnet-nano --text text-nano --hyper none --data synthetic --steps 1 "
                       "--batch 4 --out /tmp/hc_nogpu --precision fp16");
  CHECK(r.status != 0);
  CHECK(r.out.find("unknown --precision 'fp16'") != std::string::npos);
}

TEST_CASE("GPU peak table: lookup by device name, specific names first, override") {
  using namespace hc::bench;
  REQUIRE(find_gpu_peak("NVIDIA H100 80GB HBM3") != nullptr);
  CHECK(std::string(find_gpu_peak("NVIDIA H100 80GB HBM3")->label) == "H100 SXM");
  CHECK(std::string(find_gpu_peak("NVIDIA H100 PCIe")->label) == "H100 PCIe");
  CHECK(std::string(find_gpu_peak("NVIDIA H100 NVL")->label) == "H100 NVL");
  CHECK(std::string(find_gpu_peak("NVIDIA H200")->label) == "H200 SXM");
  CHECK(std::string(find_gpu_peak("NVIDIA H200 NVL")->label) == "H200 NVL");
  CHECK(find_gpu_peak("NVIDIA A100-SXM4-80GB") == nullptr);
  std::string src;
  CHECK(gpu_peak_tflops("NVIDIA H200", "bf16", 0, &src) == 989.4);
  CHECK(src == "H200 SXM");
  CHECK(gpu_peak_tflops("NVIDIA H200", "fp32", 0) == 67.0);
  CHECK(gpu_peak_tflops("NVIDIA A100-SXM4-80GB", "bf16", 0, &src) == 0);
  CHECK(src == "unknown");
  CHECK(gpu_peak_tflops("NVIDIA A100-SXM4-80GB", "bf16", 312, &src) == 312);
  CHECK(src == "override");
}

#ifdef HC_CUDA
#include "ops/cuda/cublas_api.h"
TEST_CASE("cuBLAS is opened at run time, and only by the CUDA backend (no GPU needed)") {
  // Resolving the library and its symbols needs no GPU; a CPU-only run never gets here.
  const CublasApi& api = cublas_api();
  CHECK(bool(api.create));
  CHECK(bool(api.sgemm_strided_batched));
  CHECK(bool(api.gemm_strided_batched_ex));
  CHECK(std::string(api.status_string(CUBLAS_STATUS_NOT_INITIALIZED)) == "the library was not initialized");
}
#endif
