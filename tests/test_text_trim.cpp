// Text-sequence trimming (models/text.cpp): a causal text tower pooled at the end-of-text token runs
// on the batch's longest end-of-text + 1 positions. Positions after it can change no output and
// receive no gradient, so trimming must change no loss and no gradient; a non-causal tower sees the
// padding and must not be trimmed.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "ops/cpu/reference_cpu.h"
#include "tests/model_fixture.h"
#include "tests/op_registry.h"

using namespace hc;

namespace {

// Captions of a 16-token context whose end-of-text tokens sit at 3..9: the trimmed length is 10.
void short_captions(int64_t n, int64_t T, int64_t vocab, Tensor& tokens, Tensor& eot) {
  Generator g(11);
  std::vector<int32_t> tok(n * T, 0), pos(n);
  for (int64_t i = 0; i < n; ++i) {
    int32_t e = 3 + static_cast<int32_t>(i % 7);
    pos[i] = e;
    for (int32_t j = 0; j < e; ++j) tok[i * T + j] = 1 + static_cast<int32_t>(g.next_u64() % (vocab - 2));
    tok[i * T + e] = static_cast<int32_t>(vocab - 1);
  }
  tokens = Tensor::from_ints(tok, {n, T});
  eot = Tensor::from_ints(pos, {n});
}

struct TrimRun {
  std::vector<char> loss;                 // the loss's bytes
  std::vector<std::vector<char>> grads;   // every parameter gradient's bytes, in parameter order
  std::vector<std::vector<double>> grad_values;
  std::vector<std::string> names;
};

std::vector<char> bytes_of(const Tensor& t) {
  std::vector<char> b(t.numel() * dtype_size(t.dtype()));
  if (!b.empty()) std::memcpy(b.data(), t.raw_data(), b.size());
  return b;
}

// One forward and backward pass of a small hyper-mode model in `dtype`, trimming on or off.
TrimRun run(DType dtype, bool trim, bool causal, const std::string& image) {
  const int64_t vocab = 64, T = 16, n = 8;
  ModelConfig cfg = test::tiny_config(image, vocab, 32, T, 16, 32);
  cfg.text.causal = causal;
  HyperClip m(cfg);
  m.init_parameters(3);
  test::randomise_as_trained(m, 4);
  if (dtype != DType::F32) {
    for (auto& [name, t] : m.state_dict()) {
      Tensor c = t.to(dtype);
      t.impl()->storage = c.impl()->storage;
      t.impl()->offset = c.impl()->offset;
      t.impl()->dtype = dtype;
    }
  }
  m.text->trim = trim;
  Tensor tokens, eot;
  short_captions(n, T, vocab, tokens, eot);
  Generator g(5);
  Tensor images = Tensor::empty({n, 3, 32, 32});
  fill_normal(images, g, 1.0);
  images = images.to(dtype);
  ModelOutput out = m.forward(images, tokens, eot);
  out.loss.backward();
  TrimRun r;
  r.loss = bytes_of(out.loss);
  for (auto& [name, p] : m.named_parameters()) {
    r.names.push_back(name);
    Tensor gr = p.grad();
    r.grads.push_back(gr.defined() ? bytes_of(gr) : std::vector<char>{});
    r.grad_values.push_back(gr.defined() ? gr.to_vector() : std::vector<double>{});
  }
  return r;
}

}  // namespace

TEST_CASE("text trimming: a causal tower runs max(eot) + 1 positions, a non-causal one all") {
  TextConfig c = text_preset("text-nano");
  TextTower causal(c, 64, 16);
  CHECK(causal.trimmed_length(Tensor::from_ints({3, 9, 5}, {3}), 32) == 10);
  causal.trim = false;
  CHECK(causal.trimmed_length(Tensor::from_ints({3, 9, 5}, {3}), 32) == 32);
  c.causal = false;
  TextTower open(c, 64, 16);
  CHECK(open.trimmed_length(Tensor::from_ints({3, 9, 5}, {3}), 32) == 32);
  CHECK_THROWS_WITH_AS(open.trimmed_length(Tensor::from_ints({3, 32}, {2}), 32),
                       doctest::Contains("end-of-text position 32 of caption 1 is outside the 32 tokens"), Error);
}

TEST_CASE("text trimming: losses and gradients bit-identical with and without it (order-keeping kernels)") {
  // The reference kernels sum every product and reduction in element order with one accumulator,
  // so the padded positions' exact zeros leave every bit as it was. The fast kernels block their
  // sums by size (a GEMM's panels over the rows), so there the gradients agree to rounding (below).
  ReferenceKernels on(true);
  for (DType dtype : {DType::F64, DType::F32}) {
    for (std::string image : {"convnet-nano", "vit-nano"}) {
      INFO(std::string(dtype_name(dtype)));
      CAPTURE(image);
      TrimRun full = run(dtype, false, true, image), trimmed = run(dtype, true, true, image);
      CHECK(full.loss == trimmed.loss);
      REQUIRE(full.grads.size() == trimmed.grads.size());
      int differing = 0, nonzero_text = 0;
      for (size_t i = 0; i < full.grads.size(); ++i) {
        if (full.grads[i] != trimmed.grads[i]) {
          ++differing;
          MESSAGE("differs: ", full.names[i]);
        }
        if (full.names[i].rfind("text.", 0) == 0 && test::max_abs_diff(full.grad_values[i], std::vector<double>(full.grad_values[i].size(), 0.0)) > 0)
          ++nonzero_text;
      }
      CHECK(differing == 0);
      CHECK(nonzero_text > 10);  // the comparison covers real text-tower gradients
    }
  }
}

TEST_CASE("text trimming: with the fast kernels the loss and gradients agree to rounding") {
  // The fast products block their sums by the number of rows, so the forward pass may round
  // differently too: equal bits in an -O3 -march=native build, not in the unvectorised ASan build.
  for (DType dtype : {DType::F64, DType::F32}) {
    INFO(std::string(dtype_name(dtype)));
    TrimRun full = run(dtype, false, true, "vit-nano"), trimmed = run(dtype, true, true, "vit-nano");
    double lf = 0, lt = 0;
    if (dtype == DType::F64) {
      std::memcpy(&lf, full.loss.data(), 8);
      std::memcpy(&lt, trimmed.loss.data(), 8);
    } else {
      float a, b;
      std::memcpy(&a, full.loss.data(), 4);
      std::memcpy(&b, trimmed.loss.data(), 4);
      lf = a;
      lt = b;
    }
    CHECK(std::abs(lf - lt) <= (dtype == DType::F64 ? 1e-14 : 1e-6) * std::abs(lf));
    double worst = 0;
    for (size_t i = 0; i < full.grads.size(); ++i)
      worst = std::max(worst, test::max_rel_diff(trimmed.grad_values[i], full.grad_values[i]));
    MESSAGE("worst gradient difference, max |a-b|/(1+|b|): ", worst);
    // Measured: 1.2e-14 (float64) and 2.0e-6 (float32), the GEMMs' sums blocked differently over
    // 10 and 16 rows; the bounds leave a factor of 4-5.
    CHECK(worst <= (dtype == DType::F64 ? 5e-14 : 1e-5));
  }
}

TEST_CASE("text trimming: a non-causal tower is not trimmed (its attention sees the padding)") {
  // Trimming it would change its output: the test would catch a guard that let it through.
  TrimRun full = run(DType::F64, false, false, "vit-nano"), guarded = run(DType::F64, true, false, "vit-nano");
  CHECK(full.loss == guarded.loss);
  CHECK(full.grads == guarded.grads);
  // What trimming would have done: the same tower on the captions cut to max(eot) + 1 = 10 tokens.
  const int64_t vocab = 64;
  ModelConfig cfg = test::tiny_config("vit-nano", vocab, 32, 16, 16, 32);
  cfg.text.causal = false;
  HyperClip m(cfg);
  m.init_parameters(3);
  Tensor tokens, eot;
  short_captions(8, 16, vocab, tokens, eot);
  NoGradGuard ng;
  std::vector<double> all = m.encode_text(tokens, eot).to_vector();
  std::vector<double> cut = m.encode_text(slice(tokens, 1, 0, 10), eot).to_vector();
  CHECK(test::max_abs_diff(all, cut) > 1e-3);
}
