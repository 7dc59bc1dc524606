// conv2d: every path (general im2col, 1x1 without im2col, depthwise, grouped) against finite
// differences, hand-computed values, and float32 against float64.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> conv2d_cases() {
  struct V {
    const char* name;
    Shape x, w;
    bool bias;
    int stride, pad, groups;
  };
  const V variants[] = {
      {"pointwise_1x1", {2, 3, 4, 4}, {5, 3, 1, 1}, false, 1, 0, 1},
      {"3x3_s1_p1_bias", {2, 2, 5, 5}, {3, 2, 3, 3}, true, 1, 1, 1},
      {"3x3_s2_p1", {2, 2, 6, 6}, {3, 2, 3, 3}, false, 2, 1, 1},
      {"nonsquare_odd", {1, 2, 5, 7}, {2, 2, 3, 3}, true, 2, 1, 1},
      {"grouped_g2", {2, 4, 5, 5}, {6, 2, 3, 3}, true, 1, 1, 2},
      {"depthwise_3x3_s1", {2, 3, 5, 5}, {3, 1, 3, 3}, false, 1, 1, 3},
      {"depthwise_5x5_s2_p2_bias", {2, 3, 7, 7}, {3, 1, 5, 5}, true, 2, 2, 3},
      {"patch_embed_4x4_s4", {2, 3, 8, 8}, {4, 3, 4, 4}, true, 4, 0, 1},
      {"1x1_stride2", {2, 3, 5, 5}, {2, 3, 1, 1}, false, 2, 0, 1},
  };
  std::vector<OpCase> cases;
  uint64_t seed = 1200;
  for (const V& v : variants) {
    OpCase c;
    c.name = std::string("conv2d/") + v.name;
    c.inputs = {param(v.x, seed++), param(v.w, seed++, 0.5)};
    if (v.bias) c.inputs.push_back(param({v.w[0]}, seed++));
    int s = v.stride, p = v.pad, g = v.groups;
    c.fn = [s, p, g](const std::vector<Tensor>& in) {
      return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), s, p, g);
    };
    cases.push_back(c);
  }
  // Stride and padding per axis, and grouped convolutions with one input channel per group and
  // several outputs (MCi's downsampling 7×7 and head 3×3: two output channels per input channel).
  struct P {
    const char* name;
    Shape x, w;
    Conv2dParams p;
  };
  const P per_axis[] = {
      {"depthwise_1x11_pad0x5_bias", {2, 3, 1, 9}, {3, 1, 1, 11}, {1, 1, 0, 5, 3}},
      {"dense_3x2_s2x1_p1x0", {1, 2, 6, 7}, {3, 2, 3, 2}, {2, 1, 1, 0, 1}},
      {"depthwise_3x3_s1x2_p1", {2, 3, 5, 6}, {3, 1, 3, 3}, {1, 2, 1, 1, 3}},
      {"grouped_x2_7x7_s2_p3_bias", {2, 3, 9, 9}, {6, 1, 7, 7}, {2, 2, 3, 3, 3}},
      {"grouped_x2_3x3_p1_bias", {2, 3, 4, 4}, {6, 1, 3, 3}, {1, 1, 1, 1, 3}},
  };
  for (const P& v : per_axis) {
    OpCase c;
    c.name = std::string("conv2d/") + v.name;
    c.inputs = {param(v.x, seed++), param(v.w, seed++, 0.5)};
    if (std::string(v.name).find("bias") != std::string::npos) c.inputs.push_back(param({v.w[0]}, seed++));
    Conv2dParams p = v.p;
    c.fn = [p](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), p); };
    cases.push_back(c);
  }
  cases.push_back({"global_avg_pool/2x3x4x5", {param({2, 3, 4, 5}, 1290)},
                   [](const std::vector<Tensor>& in) { return global_avg_pool(in[0]); }});
  for (OpCase& c : cases)
    if (c.name.rfind("conv2d/", 0) == 0 && c.name.find("depthwise") == std::string::npos)
      c.cuda_bf16 = kBf16Product;  // dense convolutions take bf16 inputs; depthwise stays float32
  // Large, fast against reference: the direct depthwise kernels (taps outside, a vectorised row
  // inside) against one output at a time with every tap tested against the padding. Odd and even
  // sizes, both strides, padding of k/2 and none. Forward: the same sums in the same order, so equal
  // up to the compiler's choice of where to fuse a multiply-add (FMA under -march=native): within a
  // rounding of each of the k*k + 1 terms. Backward: the same terms in another order; dx sums at
  // most k*k products in the element type (float32: a few 1e-7 relative), dw and db sum in double.
  // Two outputs per input channel (mult 2): MCi's 7×7 stride-2 downsampling and 3×3 head.
  struct Dw { int64_t N, C, H, W, k; int stride, pad; int64_t mult = 1; };
  const Dw dws[] = {{4, 6, 13, 11, 3, 1, 1}, {3, 5, 17, 16, 5, 2, 2}, {2, 7, 9, 12, 3, 2, 1},
                    {2, 4, 10, 9, 3, 1, 0}, {8, 16, 16, 16, 5, 1, 2}, {3, 6, 15, 14, 7, 2, 3, 2},
                    {4, 5, 6, 6, 3, 1, 1, 2},
                    // Planes of at most 16x16 with 16 or more channels: the channels-last kernels
                    // (the 16x16 case above too; MCi-nano's 7x7 on 24 x 16x16 here).
                    {4, 24, 16, 16, 7, 1, 3}, {8, 40, 8, 8, 3, 1, 1}, {6, 48, 8, 8, 5, 2, 2}, {8, 64, 4, 4, 3, 1, 1}, {8, 24, 2, 2, 3, 1, 1},
                    {4, 20, 7, 5, 3, 2, 1}, {4, 17, 6, 6, 5, 1, 0}, {4, 32, 8, 8, 3, 1, 1, 2}};
  uint64_t dw_seed = 1250;
  for (const Dw& d : dws) {
    OpCase c{"conv2d/large_depthwise_" + std::to_string(d.H) + "x" + std::to_string(d.W) + "_k" + std::to_string(d.k) +
                 "_s" + std::to_string(d.stride) + "_p" + std::to_string(d.pad) +
                 (d.mult > 1 ? "_x" + std::to_string(d.mult) : std::string()),
             {uniform({d.N, d.C, d.H, d.W}, dw_seed, -1, 1).set_requires_grad(true),
              uniform({d.C * d.mult, 1, d.k, d.k}, dw_seed + 1, -1, 1).set_requires_grad(true),
              uniform({d.C * d.mult}, dw_seed + 2, -1, 1).set_requires_grad(true)},
             [s = d.stride, p = d.pad, g = d.C](const std::vector<Tensor>& in) {
               return conv2d(in[0], in[1], in[2], s, p, static_cast<int>(g));
             }};
    dw_seed += 3;
    c.modes = kFastVsReference | kPerf;
    c.fast_forward = {1e-14, 1e-6};
    c.fast_grad = {1e-13, 1e-6};
    cases.push_back(c);
  }
  // Large, CUDA against the CPU: a dense strided convolution (cuDNN) and a depthwise one (own kernel).
  OpCase dense{"conv2d/large_3x3_s2_8x24x33x33", {param({8, 24, 33, 33}, 1270), param({40, 24, 3, 3}, 1271, 0.2), param({40}, 1272)},
               [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 1); }};
  OpCase dw{"conv2d/large_depthwise_5x5_s2_8x48x29x29", {param({8, 48, 29, 29}, 1273), param({48, 1, 5, 5}, 1274, 0.2), param({48}, 1275)},
            [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 2, 48); }};
  for (OpCase* c : {&dense, &dw}) {
    c->modes = kCudaFp32 | kPerf;
    cases.push_back(*c);
  }
  return cases;
}
HC_REGISTER_OP_CASES(conv2d_cases);

TEST_CASE("conv2d: hand-computed values") {
  // 1x1x3x3 input 1..9, 2x2 kernel [[1, 0], [0, -1]]: y[i][j] = x[i][j] - x[i+1][j+1] = -4.
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, DType::F64);
  Tensor k = Tensor::from_vector({1, 0, 0, -1}, {1, 1, 2, 2}, DType::F64);
  CHECK(conv2d(x, k, Tensor()).to_vector() == std::vector<double>{-4, -4, -4, -4});
  // Padding 1, stride 2, 3x3 all-ones kernel plus bias 10: sums of the clipped windows.
  Tensor ones = Tensor::ones({1, 1, 3, 3}, DType::F64);
  Tensor b = Tensor::from_vector({10}, {1}, DType::F64);
  // windows centred on (0,0), (0,2), (2,0), (2,2)
  CHECK(conv2d(x, ones, b, 2, 1).to_vector() == std::vector<double>{10 + 12, 10 + 16, 10 + 24, 10 + 28});
  // Depthwise: each channel with its own kernel.
  Tensor x2 = Tensor::from_vector({1, 2, 3, 4, 10, 20, 30, 40}, {1, 2, 2, 2}, DType::F64);
  Tensor dk = Tensor::from_vector({1, 1, 1, 1, 0, 0, 0, 2}, {2, 1, 2, 2}, DType::F64);
  CHECK(conv2d(x2, dk, Tensor(), 1, 0, 2).to_vector() == std::vector<double>{10, 80});
  // Global average pool.
  CHECK(global_avg_pool(x2).to_vector() == std::vector<double>{2.5, 25});
}

TEST_CASE("conv2d: per-axis stride and padding, hand-computed") {
  // A 1×3 kernel [1, 2, 3] along a 1×4 row [1, 2, 3, 4] with padding 0×1: a 1-D convolution.
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 1, 4}, DType::F64);
  Tensor k = Tensor::from_vector({1, 2, 3}, {1, 1, 1, 3}, DType::F64);
  Conv2dParams p;
  p.pad_w = 1;
  CHECK(conv2d(x, k, Tensor(), p).to_vector() == std::vector<double>{0 + 2 + 6, 1 + 4 + 9, 2 + 6 + 12, 3 + 8 + 0});
  // Stride 2 along the width only: outputs 0 and 2 of the above.
  p.stride_w = 2;
  CHECK(conv2d(x, k, Tensor(), p).to_vector() == std::vector<double>{8, 20});
  // Two outputs per input channel (groups = Cin, Cout = 2 Cin): output 2c + j reads channel c only.
  Tensor x2 = Tensor::from_vector({1, 2, 3, 4, 10, 20, 30, 40}, {1, 2, 2, 2}, DType::F64);
  Tensor k2 = Tensor::from_vector({1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 2, 2, 2, 2}, {4, 1, 2, 2}, DType::F64);
  CHECK(conv2d(x2, k2, Tensor(), 1, 0, 2).to_vector() == std::vector<double>{10, 1, 40, 200});
}

TEST_CASE("conv2d: float32 agrees with float64 on every path") {
  struct V {
    Shape x, w;
    int stride, pad, groups;
  };
  for (const V& v : {V{{2, 8, 15, 15}, {16, 8, 3, 3}, 2, 1, 1}, V{{3, 8, 15, 15}, {8, 1, 5, 5}, 1, 2, 8},
                     V{{2, 16, 9, 9}, {24, 16, 1, 1}, 1, 0, 1}, V{{2, 8, 9, 9}, {8, 2, 3, 3}, 1, 1, 4}}) {
    Tensor x = randn(v.x, 1), w = randn(v.w, 2, 0.3), b = randn({v.w[0]}, 3);
    std::vector<double> ref = conv2d(x, w, b, v.stride, v.pad, v.groups).to_vector();
    std::vector<double> f32 =
        conv2d(x.to(DType::F32), w.to(DType::F32), b.to(DType::F32), v.stride, v.pad, v.groups).to_vector();
    CHECK(max_abs_diff(ref, f32) < 1e-4);
  }
}

TEST_CASE("conv2d: bad shapes are clear errors") {
  Tensor x = Tensor::zeros({1, 4, 5, 5});
  CHECK_THROWS_WITH_AS(conv2d(x, Tensor::zeros({2, 3, 3, 3}), Tensor()), doctest::Contains("does not fit input"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Tensor::zeros({3, 2, 3, 3}), Tensor(), 1, 1, 2), doctest::Contains("not divisible by groups"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Tensor::zeros({2, 4, 7, 7}), Tensor()), doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_AS(conv2d(x, Tensor::zeros({2, 4, 3, 3}), Tensor::zeros({3})), Error);
  CHECK_THROWS_AS(conv2d(Tensor::zeros({4, 5, 5}), Tensor::zeros({2, 4, 3, 3}), Tensor()), Error);
}
