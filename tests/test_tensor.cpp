// Tensor basics, modules with dotted names, and the no-silent-fallback rule for backends.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

#include "core/backend.h"
#include "core/module.h"
#include "ops/ops.h"

using namespace hc;

TEST_CASE("tensor: factories, views, conversions") {
  Tensor z = Tensor::zeros({2, 3});
  CHECK(z.numel() == 6);
  CHECK(z.dtype() == DType::F32);
  CHECK(z.device() == Device::CPU);
  CHECK(z.desc() == "float32[2, 3] cpu");
  CHECK(reinterpret_cast<uintptr_t>(z.raw_data()) % 64 == 0);  // aligned storage
  Tensor s = Tensor::scalar(2.5, DType::F64);
  CHECK(s.dim() == 0);
  CHECK(s.item() == 2.5);
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 2}, DType::F64);
  Tensor f = x.to(DType::F32);
  CHECK(f.dtype() == DType::F32);
  CHECK(f.to_vector() == x.to_vector());
  Tensor c = x.clone();
  c.fill_(7);
  CHECK(x.to_vector()[0] == 1);  // clone is a copy
  Tensor v = make_view(x, {4});
  v.data<double>()[0] = 9;
  CHECK(x.to_vector()[0] == 9);  // a view shares storage
  Tensor ids = Tensor::from_ints({1, 2, 3}, {3});
  CHECK(ids.to_ints() == std::vector<int32_t>{1, 2, 3});
  CHECK_THROWS_AS(x.data<float>(), Error);  // wrong element type
  CHECK_THROWS_AS(Tensor::from_vector({1, 2, 3}, {2, 2}), Error);
  CHECK_THROWS_AS(Tensor().shape(), Error);
  CHECK_THROWS_AS(x.size(2), Error);
  Tensor y = Tensor::zeros({2, 2}, DType::F32);
  y.copy_(x);  // converts
  CHECK(y.to_vector()[3] == 4);
}

TEST_CASE("tensor: CUDA without a GPU is a clear error") {
  std::string why;
  if (!cuda_available(&why)) {
    CHECK_FALSE(why.empty());
    CHECK_THROWS_WITH_AS(Tensor::zeros({2}, DType::F32, Device::CUDA),
                         doctest::Contains("CUDA requested but unavailable"), Error);
  } else {
    MESSAGE("a GPU is present; the CUDA-unavailable error path is not exercised");
  }
}

// A backend that owns memory but implements no kernel: every op must refuse loudly rather than
// fall back to the CPU.
class MemoryOnlyBackend final : public Backend {
 public:
  Device device() const override { return Device::CUDA; }
  std::string name() const override { return "memory-only test"; }
  void* allocate(size_t bytes) override { return ::operator new(bytes); }
  void deallocate(void* p, size_t) override { ::operator delete(p); }
  void copy_from_host(void* d, const void* s, size_t n) override { std::memcpy(d, s, n); }
  void copy_to_host(void* d, const void* s, size_t n) override { std::memcpy(d, s, n); }
  void copy_on_device(void* d, const void* s, size_t n) override { std::memcpy(d, s, n); }
};

static Tensor on_backend(Backend& b, const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = DType::F32;
  impl->storage = std::make_shared<Storage>(b, numel(shape) * 4);
  return Tensor(impl);
}

TEST_CASE("backend: an op a backend lacks is a loud error, never a CPU fallback") {
  MemoryOnlyBackend fake;
  Tensor a = on_backend(fake, {2, 3}), b = on_backend(fake, {2, 3});
  CHECK_THROWS_WITH_AS(add(a, b), "op 'add' is not implemented on the memory-only test backend",
                       Error);
  CHECK_THROWS_WITH_AS(gelu(a), "op 'gelu' is not implemented on the memory-only test backend",
                       Error);
  CHECK_THROWS_WITH_AS(matmul(a, b, false, true),
                       "op 'matmul' is not implemented on the memory-only test backend", Error);
  CHECK_THROWS_AS(add(a, Tensor::zeros({2, 3})), Error);  // mixing devices is refused too
}

// A small module tree, named as PyTorch would name it.
struct Block : Module {
  Tensor weight, bias, running_mean;
  Block() {
    weight = register_parameter("weight", Tensor::ones({4, 3}));
    bias = register_parameter("bias", Tensor::zeros({4}));
    running_mean = register_buffer("running_mean", Tensor::zeros({4}));
  }
};
struct Tree : Module {
  struct List : Module {
    void add(const std::string& name, std::shared_ptr<Module> m) { register_module(name, m); }
  };
  Tree() {
    register_parameter("logit_scale", Tensor::scalar(2.3));
    auto stages = register_module("stages", std::make_shared<List>());
    for (int s = 0; s < 2; ++s) {
      auto stage = std::make_shared<List>();
      stage->add("0", std::make_shared<Block>());
      stages->add(std::to_string(s), stage);
    }
  }
};

TEST_CASE("module: PyTorch-style dotted names for parameters and buffers") {
  Tree t;
  std::vector<std::string> names;
  for (auto& p : t.named_parameters()) names.push_back(p.first);
  CHECK(names == std::vector<std::string>{"logit_scale", "stages.0.0.weight", "stages.0.0.bias",
                                          "stages.1.0.weight", "stages.1.0.bias"});
  std::vector<std::string> buffers;
  for (auto& b : t.named_buffers()) buffers.push_back(b.first);
  CHECK(buffers == std::vector<std::string>{"stages.0.0.running_mean", "stages.1.0.running_mean"});
  CHECK(t.parameter_count() == 1 + 2 * (12 + 4));  // buffers excluded
  CHECK(t.state_dict().size() == 7);
  for (auto& p : t.named_parameters()) CHECK(p.second.requires_grad());
  for (auto& b : t.named_buffers()) CHECK_FALSE(b.second.requires_grad());
  t.eval();
  CHECK_FALSE(t.is_training());
  struct Dup : Module {
    Dup() {
      register_parameter("w", Tensor::zeros({1}));
      register_parameter("w", Tensor::zeros({1}));
    }
  };
  CHECK_THROWS_AS(Dup(), Error);
}
