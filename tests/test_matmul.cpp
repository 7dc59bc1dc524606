// matmul (with transposes and batches) and linear.
#include <doctest/doctest.h>

#include <array>

#include "ops/cpu/gemm_bf16_cpu.h"
#include "ops/ops.h"
#include "tests/cuda_test_util.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> matmul_cases() {
  std::vector<OpCase> cases;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Shape sa = ta ? Shape{2, 4, 3} : Shape{2, 3, 4};  // op(a): [2, 3, 4]
      Shape sb = tb ? Shape{2, 5, 4} : Shape{2, 4, 5};  // op(b): [2, 4, 5]
      cases.push_back({"matmul/batched_t" + std::to_string(ta) + std::to_string(tb),
                       {param(sa, 600 + ta * 2 + tb), param(sb, 610 + ta * 2 + tb)},
                       [ta, tb](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); }});
      Shape sb2 = tb ? Shape{5, 4} : Shape{4, 5};
      cases.push_back({"matmul/shared_b_t" + std::to_string(ta) + std::to_string(tb),
                       {param(sa, 620 + ta * 2 + tb), param(sb2, 630 + ta * 2 + tb)},
                       [ta, tb](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); }});
    }
  cases.push_back({"matmul/2d", {param({3, 4}, 640), param({4, 2}, 641)},
                   [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }});
  cases.push_back({"linear/3d_input_bias", {param({2, 3, 4}, 650), param({5, 4}, 651), param({5}, 652)},
                   [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }});
  cases.push_back({"linear/no_bias", {param({3, 4}, 653), param({2, 4}, 654)},
                   [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }});
  for (OpCase& c : cases) c.cuda_bf16 = kBf16Product;
  // Large, fast against reference: the kernel itself (alpha 1.5, beta 0 and 0.5 over a random
  // out), one product split over threads (tall, wide, odd sizes) and a batch of large products.
  // Sums of K <= 200 products of values in [-1, 1]: float32 accumulation error is below
  // K * 2^-24 * |terms| ~ 1e-5 of the sum's scale; float64 far below 1e-12.
  const std::array<int64_t, 4> shapes[] = {{1, 300, 70, 200}, {1, 40, 333, 150}, {2, 130, 130, 65}};  // B, M, N, K
  uint64_t big_seed = 660;
  for (auto [Bn, M, N, K] : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (double beta : {0.0, 0.5}) {
          OpCase c{"matmul/large_kernel_" + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
                       "_t" + std::to_string(ta) + std::to_string(tb) + (beta != 0 ? "_beta" : ""),
                   {uniform(ta ? Shape{Bn, K, M} : Shape{Bn, M, K}, big_seed, -1, 1),
                    uniform(tb ? Shape{Bn, N, K} : Shape{Bn, K, N}, big_seed + 1, -1, 1),
                    uniform({Bn, M, N}, big_seed + 2, -1, 1)},
                   [ta, tb, beta](const std::vector<Tensor>& in) {
                     Tensor out = in[2].clone();
                     in[0].backend().matmul(in[0], ta, in[1], tb, 1.5, beta, out);
                     return out;
                   }};
          big_seed += 3;
          c.modes = kFastVsReference | kCpuBf16;
          c.fast_forward = {1e-12, 2e-5};
          c.cpu_bf16 = kBf16Product;
          cases.push_back(c);
        }
  // Large, CUDA against the CPU: a big GEMM with a shared right-hand matrix.
  OpCase big{"matmul/large_8x67x130_at_130x45", {param({8, 67, 130}, 690), param({130, 45}, 691)},
             [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }};
  big.modes = kCudaFp32 | kPerf;
  cases.push_back(big);
  return cases;
}
HC_REGISTER_OP_CASES(matmul_cases);

TEST_CASE("matmul: forward values") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  Tensor b = Tensor::from_vector({7, 8, 9, 10, 11, 12}, {3, 2}, DType::F64);
  CHECK(matmul(a, b).to_vector() == std::vector<double>{58, 64, 139, 154});
  CHECK(matmul(a, a, false, true).to_vector() == std::vector<double>{14, 32, 32, 77});
  CHECK(matmul(a, a, true, false).shape() == Shape{3, 3});
  CHECK(matmul(a, a, true, false).to_vector()[0] == 17);  // column 0 with itself: 1 + 16
  Tensor w = Tensor::from_vector({1, 0, -1, 2, 2, 2}, {2, 3}, DType::F64);
  Tensor bias = Tensor::from_vector({0.5, -0.5}, {2}, DType::F64);
  CHECK(linear(a, w, bias).to_vector() == std::vector<double>{-1.5, 11.5, -1.5, 29.5});
  CHECK_THROWS_AS(matmul(a, a), Error);
  CHECK_THROWS_AS(linear(a, b), Error);
  // float32 through Eigen agrees with the float64 result.
  Tensor a32 = randn({64, 96}, 1).to(DType::F32), b32 = randn({96, 80}, 2).to(DType::F32);
  std::vector<double> ref = matmul(a32.to(DType::F64), b32.to(DType::F64)).to_vector();
  CHECK(max_abs_diff(matmul(a32, b32).to_vector(), ref) < 1e-4);
}

TEST_CASE("matmul in the CPU's bf16 mode: the float32 product of bf16-rounded inputs, and not float32's") {
  Backend& cpu = backend_for(Device::CPU);
  // Odd sizes: edge tiles of the micro-kernel (12 x 32) and an odd depth (a padded depth pair);
  // depth 600 crosses a packed block (256).
  for (int64_t K : {37, 600}) {
    CAPTURE(K);
    Tensor a = uniform({1, 29, K}, 700, -1, 1).to(DType::F32), b = uniform({1, K, 45}, 701, -1, 1).to(DType::F32);
    std::vector<double> av = a.to_vector(), bv = b.to_vector();
    for (double& x : av) x = bf16_round(static_cast<float>(x));
    for (double& x : bv) x = bf16_round(static_cast<float>(x));
    Tensor ar = Tensor::from_vector(av, a.shape(), DType::F64), br = Tensor::from_vector(bv, b.shape(), DType::F64);
    Tensor want = matmul(ar, br);  // float64 product of the rounded inputs
    Tensor fp32 = matmul(a, b), bf16;
    cpu.set_math_mode(MathMode::BF16);
    bf16 = matmul(a, b);
    Tensor bf16_t = matmul(transpose(a, 1, 2), b, true, false);
    cpu.set_math_mode(MathMode::FP32);
    // float32 accumulation of exact products: K * 2^-24 relative to the terms' scale
    CHECK(max_abs_diff(bf16.to_vector(), want.to_vector()) < 1e-6 * K);
    CHECK(max_abs_diff(bf16_t.to_vector(), want.to_vector()) < 1e-6 * K);
    double e = nmse(bf16.to_vector(), fp32.to_vector());
    CHECK(e > 1e-7);  // the rounding shows: 2^-9 relative per factor
    CHECK(e < 1e-4);
  }
}
