// The CUDA backend against the CPU backend, op by op: every case of the op registry
// (tests/op_registry.h) runs in float32 on both, and the forward output and the gradient of every
// input that requires grad are compared by normalised mean squared error (tests/cuda_test_util.h).
//  - FP32 mode: NMSE <= 1e-7 for every output and gradient (the bound; float32 kernels
//    that sum in another order differ by ~1e-7 relative per element, i.e. NMSE ~1e-13).
//  - BF16 mode: ops without a matrix product or convolution are unaffected and keep 1e-7;
//    cases with products see inputs rounded to bf16 (relative error 2^-9 = 2e-3 per input),
//    documented per op family in bf16_bound() below.
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

struct CaseRun {
  std::vector<double> y;
  std::vector<std::vector<double>> grads;  // one per input that requires grad, in order
};

// The case's inputs as float32 on `device` (index tensors as int32 there), the forward output,
// and the gradients of L = sum(w * y) for fixed random w.
CaseRun run_case(const OpCase& c, Device device) {
  current_tape().clear();
  std::vector<Tensor> in;
  for (const Tensor& t : c.inputs) {
    Tensor u = is_floating(t.dtype()) ? t.detach().to(DType::F32) : t.detach();
    u = u.to(device);
    if (u.same(t)) u = t.detach();
    if (t.requires_grad()) u.set_requires_grad(true);
    in.push_back(u);
  }
  Tensor y = c.fn(in);
  CaseRun r;
  r.y = y.to_vector();
  Tensor w = randn(y.shape(), 12345).to(DType::F32).to(device);
  y.backward(w);
  for (const Tensor& t : in) {
    if (!t.requires_grad()) continue;
    REQUIRE_MESSAGE(t.grad().defined(), c.name, ": no gradient reached an input on ", device_name(device));
    r.grads.push_back(t.grad().to_vector());
  }
  return r;
}

// NMSE bounds in BF16 mode, per case family. Products over K terms of bf16-rounded inputs give a
// relative error of about 2^-9 / sqrt(averaging) per output: NMSE ~1e-6..1e-5. Cases that chain
// several products (generated scale and shift, whole pipelines) compound it.
double bf16_bound(const std::string& name) {
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  if (starts("pipeline/")) return 1e-3;
  if (name.find("generated") != std::string::npos) return 1e-4;
  if (starts("matmul/") || starts("linear/") || starts("attention/")) return 1e-4;
  if (starts("conv2d/")) return name.find("depthwise") != std::string::npos ? 1e-7 : 1e-4;  // depthwise stays fp32
  return 1e-7;  // no product: identical float32 kernels in both modes
}

void compare_all(MathMode mode) {
  std::vector<OpCase> cases = all_op_cases();
  REQUIRE(cases.size() > 0);
  CudaMathModeGuard guard(mode);
  int compared = 0;
  double worst = 0;
  for (const OpCase& c : cases) {
    CAPTURE(c.name);
    double bound = mode == MathMode::FP32 ? 1e-7 : bf16_bound(c.name);
    CaseRun cpu = run_case(c, Device::CPU);
    CaseRun gpu = run_case(c, Device::CUDA);
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

TEST_CASE("cuda: every registered op case matches the CPU in float32 (NMSE <= 1e-7)") {
  if (!gpu_or_skip("CUDA-vs-CPU op cases, fp32")) return;
  compare_all(MathMode::FP32);
}

TEST_CASE("cuda: every registered op case matches the CPU in bf16 mixed precision (per-op bounds)") {
  if (!gpu_or_skip("CUDA-vs-CPU op cases, bf16")) return;
  compare_all(MathMode::BF16);
}

TEST_CASE("cuda: larger shapes than the registry's, forward and backward (multi-warp rows, many blocks, big GEMMs)") {
  if (!gpu_or_skip("CUDA-vs-CPU larger shapes")) return;
  // Each function of float32 inputs runs on both devices; outputs compared.
  struct Big {
    const char* name;
    std::vector<Tensor> inputs;
    std::function<Tensor(const std::vector<Tensor>&)> fn;
  };
  Tensor sets = Tensor::from_ints({0, 1, 2, 0, 1, 2, 0, 1}, {8});
  std::vector<Big> bigs = {
      {"matmul 8x67x130 @ 130x45", {randn({8, 67, 130}, 1), randn({130, 45}, 2)},
       [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }},
      {"conv 3x3 s2 8x24x33x33", {randn({8, 24, 33, 33}, 3), randn({40, 24, 3, 3}, 4, 0.2), randn({40}, 5)},
       [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 1); }},
      {"depthwise 5x5 s2 8x48x29x29", {randn({8, 48, 29, 29}, 6), randn({48, 1, 5, 5}, 7, 0.2), randn({48}, 8)},
       [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 2, 48); }},
      {"batch_norm per-set 8x40x17x17", {randn({8, 40, 17, 17}, 9, 3.0), randn({3, 40}, 10), randn({3, 40}, 11)},
       [sets](const std::vector<Tensor>& in) {
         Tensor rm = Tensor::zeros({40}, DType::F32, in[0].device()), rv = Tensor::ones({40}, DType::F32, in[0].device());
         return batch_norm(in[0], in[1], in[2], rm, rv, true, 0.1, 1e-5, as_like(sets, in[0]));
       }},
      {"layer_norm per-set 8x50x300", {randn({8, 50, 300}, 12), randn({3, 300}, 13), randn({3, 300}, 14)},
       [sets](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2], 1e-5, as_like(sets, in[0])); }},
      {"attention causal 2x3x77x64", {randn({2, 3, 77, 64}, 15), randn({2, 3, 77, 64}, 16), randn({2, 3, 77, 64}, 17)},
       [](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], true); }},
      {"softmax 100x1000", {randn({100, 1000}, 18, 5.0)}, [](const std::vector<Tensor>& in) { return softmax(in[0]); }},
      {"sum over dims 0,2 of 64x33x70", {randn({64, 33, 70}, 19)},
       [](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}); }},
      {"siglip 256x64", {l2_normalize(randn({256, 64}, 20)), l2_normalize(randn({256, 64}, 21)),
                         Tensor::scalar(std::log(10.0), DType::F64), Tensor::scalar(-10.0, DType::F64)},
       [](const std::vector<Tensor>& in) { return siglip_loss(in[0], in[1], in[2], in[3]); }},
  };
  // Forward outputs and the gradient of every input under L = sum(w * y), w fixed: the backward
  // kernels see multi-warp rows and many blocks here too, not only the registry's tiny shapes.
  for (const Big& b : bigs) {
    CAPTURE(b.name);
    auto run = [&](Device device, std::vector<Tensor>& in) {
      current_tape().clear();
      for (const Tensor& t : b.inputs) {
        Tensor u = t.detach().to(DType::F32).to(device);
        u.set_requires_grad(true);
        in.push_back(u);
      }
      Tensor y = b.fn(in);
      y.backward(randn(y.shape(), 777).to(DType::F32).to(device));
      return y.to_vector();
    };
    std::vector<Tensor> cpu_in, gpu_in;
    std::vector<double> y_cpu = run(Device::CPU, cpu_in), y_gpu = run(Device::CUDA, gpu_in);
    double e = nmse(y_gpu, y_cpu);
    std::printf("cuda-vs-cpu large %-36s forward nmse %.2e\n", b.name, e);
    CHECK(e <= 1e-7);
    for (size_t k = 0; k < cpu_in.size(); ++k) {
      CAPTURE(k);
      REQUIRE(cpu_in[k].grad().defined());
      REQUIRE(gpu_in[k].grad().defined());
      double g = nmse(gpu_in[k].grad().to_vector(), cpu_in[k].grad().to_vector());
      std::printf("cuda-vs-cpu large %-36s grad %zu  nmse %.2e\n", b.name, k, g);
      CHECK(g <= 1e-7);
    }
  }
}

TEST_CASE("cuda: refusals and errors are loud") {
  if (!gpu_or_skip("CUDA error handling")) return;
  // float64 is CPU-only: the first kernel to touch it says so.
  CHECK_THROWS_WITH_AS(Tensor::ones({4}, DType::F64, Device::CUDA), doctest::Contains("needs float32"), Error);
  // Index errors found inside kernels surface at the next wait for the GPU, naming the op.
  Tensor w = Tensor::ones({3, 2}, DType::F32, Device::CUDA);
  CHECK_THROWS_WITH_AS(embedding(w, Tensor::from_ints({1, 3}, {2}, Device::CUDA)).to_vector(),
                       doctest::Contains("embedding: token id 3 at position 1"), Error);
  Tensor x = Tensor::ones({3, 2}, DType::F32, Device::CUDA);
  CHECK_THROWS_WITH_AS(set_mean(x, Tensor::from_ints({0, 0, 2}, {3}, Device::CUDA), 3).to_vector(),
                       doctest::Contains("set 1 is empty"), Error);
  // After an error the backend works again.
  CHECK(embedding(w, Tensor::from_ints({2, 0}, {2}, Device::CUDA)).to_vector() == std::vector<double>{1, 1, 1, 1});
  // Mixed devices are refused by the ops.
  CHECK_THROWS_AS(add(Tensor::ones({2}), Tensor::ones({2}, DType::F32, Device::CUDA)), Error);
}

TEST_CASE("bf16 mixed precision is refused on the CPU backend") {
  CHECK_THROWS_WITH_AS(backend_for(Device::CPU).set_math_mode(MathMode::BF16), doctest::Contains("bf16"), Error);
  backend_for(Device::CPU).set_math_mode(MathMode::FP32);  // accepted
  CHECK(backend_for(Device::CPU).math_mode() == MathMode::FP32);
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
                       "--batch 4 --out /tmp/hc_nogpu --precision bf16");
  CHECK(r.status != 0);
  CHECK(r.out.find("bf16") != std::string::npos);
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
