// One whole training step (forward, backward, AdamW) of each image tower in hyper mode, on CUDA
// against the CPU from identical weights and data: the loss, every parameter's gradient and every
// updated parameter must match. Also: the caching allocator makes no cudaMalloc in the steady
// state of a training step. Skipped without a GPU.
//
// Bounds (float32 on both sides, different summation orders through ~20 layers):
//   loss: relative difference <= 1e-5;  each gradient and each updated parameter: NMSE <= 1e-6.
// BF16 mode against the float32 CPU step: loss within 2e-2 relative, gradients NMSE <= 1e-2.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "core/tape.h"
#include "models/hyperclip.h"
#include "tests/cuda_test_util.h"
#include "train/step.h"

using namespace hc;
using namespace hc::test;

namespace {

ModelConfig small_hyper_config(const std::string& image) {
  ModelConfig c;
  c.image = image_preset(image);
  c.image.image_size = 32;
  c.text = text_preset("text-nano");
  c.text.context = 16;
  c.hyper = hyper_preset("hyper-nano");
  c.mode = Mode::Hyper;
  c.embed = 64;
  c.vocab = 300;
  c.set_size = 4;  // a batch of 8 is two sets, each with its own generated norm parameters
  return c;
}

struct StepBatch {
  Tensor images, tokens, eot;
  StepBatch to(Device d) const { return {images.to(d), tokens.to(d), eot.to(d)}; }
};

StepBatch make_batch(const ModelConfig& c, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> img(static_cast<size_t>(n) * 3 * c.image.image_size * c.image.image_size);
  for (double& v : img) v = normal(rng);
  int64_t T = c.text.context;
  std::vector<int32_t> tok(static_cast<size_t>(n * T), 0), eot(n);
  for (int i = 0; i < n; ++i) {
    int len = 3 + static_cast<int>(rng() % (T - 3));
    for (int t = 0; t < len; ++t) tok[i * T + t] = 1 + static_cast<int32_t>(rng() % (c.vocab - 1));
    eot[i] = len - 1;
  }
  return {Tensor::from_vector(img, {n, 3, c.image.image_size, c.image.image_size}),
          Tensor::from_ints(tok, {n, T}), Tensor::from_ints(eot, {n})};
}

struct StepRecord {
  double loss = 0;
  std::vector<std::string> names;
  std::vector<std::vector<double>> grads, params;
};

StepRecord step_on(const ModelConfig& cfg, Device device, const StepBatch& host_batch, int steps = 1,
                   std::vector<int64_t>* mallocs_after_each = nullptr) {
  HyperClip model(cfg);
  model.init_parameters(7);
  model.train();
  model.to(device);
  AdamW opt(model.named_parameters(), AdamWConfig());
  StepBatch b = host_batch.to(device);
  StepRecord r;
  for (int s = 0; s < steps; ++s) {
    r.loss = train_step(model, opt, b.images, b.tokens, b.eot, 1e-3, /*max_grad_norm=*/0).loss;
    if (mallocs_after_each) {
      backend_for(device).synchronize();
      mallocs_after_each->push_back(backend_for(device).memory_stats().device_allocations);
    }
  }
  for (const auto& [name, p] : model.named_parameters()) {
    r.names.push_back(name);
    r.grads.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<double>());
    r.params.push_back(p.to_vector());
  }
  return r;
}

void compare_step(const std::string& image, MathMode mode) {
  ModelConfig cfg = small_hyper_config(image);
  StepBatch batch = make_batch(cfg, 8, 99);
  StepRecord cpu = step_on(cfg, Device::CPU, batch);
  StepRecord gpu;
  {
    CudaMathModeGuard guard(mode);
    gpu = step_on(cfg, Device::CUDA, batch);
  }
  bool fp32 = mode == MathMode::FP32;
  double loss_tol = fp32 ? 1e-5 : 2e-2, grad_tol = fp32 ? 1e-6 : 1e-2, param_tol = fp32 ? 1e-6 : 1e-2;
  double rel = std::fabs(gpu.loss - cpu.loss) / std::max(1.0, std::fabs(cpu.loss));
  std::printf("cuda training step %s %s: loss cpu %.7f gpu %.7f (rel %.2e)\n", image.c_str(), math_mode_name(mode),
              cpu.loss, gpu.loss, rel);
  CHECK(rel <= loss_tol);
  REQUIRE(cpu.names == gpu.names);
  double worst_g = 0, worst_p = 0;
  int with_grad = 0;
  for (size_t i = 0; i < cpu.names.size(); ++i) {
    CAPTURE(cpu.names[i]);
    REQUIRE(cpu.grads[i].size() == gpu.grads[i].size());
    if (!cpu.grads[i].empty()) {
      double g = nmse(gpu.grads[i], cpu.grads[i]);
      CHECK(g <= grad_tol);
      worst_g = std::max(worst_g, g);
      ++with_grad;
    }
    double p = nmse(gpu.params[i], cpu.params[i]);
    CHECK(p <= param_tol);
    worst_p = std::max(worst_p, p);
  }
  CHECK(with_grad > 10);
  std::printf("cuda training step %s %s: %d gradients, worst nmse %.2e; params after AdamW worst nmse %.2e\n",
              image.c_str(), math_mode_name(mode), with_grad, worst_g, worst_p);
}

}  // namespace

TEST_CASE("cuda training step: convnet tower, hyper mode, fp32, matches the CPU") {
  if (!gpu_or_skip("whole training step on CUDA (convnet, fp32)")) return;
  compare_step("convnet-nano", MathMode::FP32);
}

TEST_CASE("cuda training step: vit tower, hyper mode, fp32, matches the CPU") {
  if (!gpu_or_skip("whole training step on CUDA (vit, fp32)")) return;
  compare_step("vit-nano", MathMode::FP32);
}

TEST_CASE("cuda training step: both towers in bf16 mixed precision stay close to the CPU") {
  if (!gpu_or_skip("whole training step on CUDA (bf16)")) return;
  compare_step("convnet-nano", MathMode::BF16);
  compare_step("vit-nano", MathMode::BF16);
}

TEST_CASE("cuda allocator: no cudaMalloc in the steady state of a training step") {
  if (!gpu_or_skip("caching allocator steady state")) return;
  for (const char* image : {"convnet-nano", "vit-nano"}) {
    CAPTURE(image);
    ModelConfig cfg = small_hyper_config(image);
    std::vector<int64_t> mallocs;
    Backend& be = backend_for(Device::CUDA);
    be.empty_cache();  // blocks cached by earlier tests would hide step 1's allocations
    int64_t before = be.memory_stats().device_allocations;
    step_on(cfg, Device::CUDA, make_batch(cfg, 8, 5), 4, &mallocs);
    REQUIRE(mallocs.size() == 4);
    std::printf("cuda allocator %s: cudaMalloc calls after steps 1..4: %lld %lld %lld %lld\n", image,
                (long long)mallocs[0], (long long)mallocs[1], (long long)mallocs[2], (long long)mallocs[3]);
    CHECK(mallocs[0] > before);  // step 1 fills the cache
    CHECK(mallocs[2] == mallocs[1]);  // steps 3 and 4 take every block from the cache
    CHECK(mallocs[3] == mallocs[2]);
  }
  MemoryStats s = backend_for(Device::CUDA).memory_stats();
  CHECK(s.bytes_in_use >= 0);
  CHECK(s.bytes_cached > 0);
}

TEST_CASE("cuda allocator: size classes") {
  if (!gpu_or_skip("caching allocator reuse")) return;
  Backend& be = backend_for(Device::CUDA);
  be.empty_cache();  // so the first block below really comes from cudaMalloc
  int64_t before = be.memory_stats().device_allocations;
  const void* first = nullptr;
  {
    Tensor a = Tensor::empty({1000}, DType::F32, Device::CUDA);  // 4000 bytes -> the 4096 class
    first = a.raw_data();
  }
  CHECK(be.memory_stats().device_allocations == before + 1);
  {
    Tensor b = Tensor::empty({1020}, DType::F32, Device::CUDA);  // 4080 bytes: same class
    CHECK(b.raw_data() == first);                                // the freed block, reused
  }
  CHECK(be.memory_stats().device_allocations == before + 1);
  { Tensor c = Tensor::empty({1100}, DType::F32, Device::CUDA); }  // 4400 bytes: the next class, a new block
  CHECK(be.memory_stats().device_allocations == before + 2);
}
