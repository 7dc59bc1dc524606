// AdamW, clipping and the learning-rate schedule against hand-computed values.
#include <doctest/doctest.h>

#include <cmath>

#include "ops/ops.h"
#include "train/adamw.h"

using namespace hc;

TEST_CASE("AdamW: two steps equal PyTorch's formula") {
  Tensor w = Tensor::from_vector({1.0, -2.0, 0.5, 3.0}, {2, 2});  // decayed (2-D)
  Tensor b = Tensor::from_vector({0.25, -0.75}, {2});              // not decayed
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  AdamWConfig cfg;
  cfg.weight_decay = 0.1;
  AdamW opt({{"layer.weight", w}, {"layer.bias", b}}, cfg);
  CHECK(opt.slots()[0].decay);
  CHECK_FALSE(opt.slots()[1].decay);

  std::vector<double> pw = w.to_vector(), pb = b.to_vector(), mw(4, 0), vw(4, 0), mb(2, 0), vb(2, 0);
  const double gw[2][4] = {{0.1, -0.2, 0.3, 0.05}, {-0.4, 0.2, 0.0, 1.0}};
  const double gb[2][2] = {{1.0, -1.0}, {0.5, 0.25}};
  const double lrs[2] = {1e-2, 5e-3};
  for (int s = 0; s < 2; ++s) {
    w.set_grad(Tensor::from_vector({gw[s][0], gw[s][1], gw[s][2], gw[s][3]}, {2, 2}));
    b.set_grad(Tensor::from_vector({gb[s][0], gb[s][1]}, {2}));
    opt.step(lrs[s]);
    double bc1 = 1 - std::pow(0.9, s + 1), bc2 = 1 - std::pow(0.98, s + 1);
    auto ref = [&](std::vector<double>& p, std::vector<double>& m, std::vector<double>& v, const double* g, double wd) {
      for (size_t i = 0; i < p.size(); ++i) {
        p[i] *= 1 - lrs[s] * wd;
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.98 * v[i] + 0.02 * g[i] * g[i];
        p[i] -= lrs[s] / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + 1e-6);
      }
    };
    ref(pw, mw, vw, gw[s], 0.1);
    ref(pb, mb, vb, gb[s], 0.0);
  }
  std::vector<double> w_now = w.to_vector(), b_now = b.to_vector();
  for (int i = 0; i < 4; ++i) CHECK(w_now[i] == doctest::Approx(pw[i]).epsilon(1e-6));
  for (int i = 0; i < 2; ++i) CHECK(b_now[i] == doctest::Approx(pb[i]).epsilon(1e-6));
  CHECK(opt.steps() == 2);
}

TEST_CASE("AdamW: weight decay only where docs/model.md says") {
  Tensor m2 = Tensor::zeros({2, 2}), v1 = Tensor::zeros({2}), s0 = Tensor::scalar(0), c4 = Tensor::zeros({2, 2, 1, 1});
  CHECK(decays("visual.proj.weight", m2));
  CHECK(decays("visual.stem.conv.weight", c4));
  CHECK_FALSE(decays("visual.stem.bn.weight", v1));
  CHECK_FALSE(decays("text.blocks.0.attn.qkv.bias", v1));
  CHECK_FALSE(decays("text.token_embedding.weight", m2));
  CHECK_FALSE(decays("text.positional_embedding", m2));
  CHECK_FALSE(decays("visual.pos_embed", m2));
  CHECK_FALSE(decays("hyper.tokens", m2));
  CHECK_FALSE(decays("logit_scale", s0));
  CHECK(decays("hyper.output.weight", m2));
}

TEST_CASE("clip_grad_norm scales to the global norm") {
  Tensor a = Tensor::zeros({2}), b = Tensor::zeros({1});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  a.set_grad(Tensor::from_vector({3, 0}, {2}));
  b.set_grad(Tensor::from_vector({4}, {1}));
  double norm = clip_grad_norm({a, b}, 1.0);
  CHECK(norm == doctest::Approx(5.0));
  CHECK(a.grad().to_vector()[0] == doctest::Approx(3.0 / (5 + 1e-6)).epsilon(1e-6));
  CHECK(b.grad().to_vector()[0] == doctest::Approx(4.0 / (5 + 1e-6)).epsilon(1e-6));
  // Below the limit nothing changes.
  CHECK(clip_grad_norm({a, b}, 10.0) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(b.grad().to_vector()[0] == doctest::Approx(4.0 / (5 + 1e-6)).epsilon(1e-6));
}

TEST_CASE("learning rate: linear warmup, then cosine to zero") {
  CHECK(lr_at(0, 1.0, 4, 10) == doctest::Approx(0.25));
  CHECK(lr_at(3, 1.0, 4, 10) == doctest::Approx(1.0));
  CHECK(lr_at(4, 1.0, 4, 10) == doctest::Approx(1.0));                      // cosine starts at the top
  CHECK(lr_at(7, 1.0, 4, 10) == doctest::Approx(0.5 * (1 + std::cos(M_PI * 0.5))));
  CHECK(lr_at(10, 1.0, 4, 10) == doctest::Approx(0.0).scale(1));
  CHECK(lr_at(5, 2.0, 0, 10) == doctest::Approx(2.0 * 0.5 * (1 + std::cos(M_PI * 0.5))));
}

TEST_CASE("AdamW: the hypernetwork's parameters step with lr times hyper_lr_scale, the others with lr") {
  // First Adam step: p -= lr * g / (|g| + eps) after bias correction, about lr * sign(g). Float32
  // parameters, so 1e-6 relative; the scaled and unscaled steps differ by 1e-3 or more.
  Tensor h = Tensor::from_vector({1.0, -1.0}, {2}), v = Tensor::from_vector({1.0, -1.0}, {2});
  Tensor hw = Tensor::from_vector({1.0, 2.0, 3.0, 4.0}, {2, 2}), vw = Tensor::from_vector({1.0, 2.0, 3.0, 4.0}, {2, 2});
  for (Tensor* t : {&h, &v, &hw, &vw}) t->set_requires_grad(true);
  AdamWConfig cfg;
  cfg.weight_decay = 0.1;
  cfg.hyper_lr_scale = 0.25;
  AdamW opt({{"hyper.output.bias", h}, {"visual.stem.bn.bias", v}, {"hyper.output.weight", hw}, {"visual.proj.weight", vw}}, cfg);
  CHECK(opt.slots()[0].lr_scale == 0.25);
  CHECK(opt.slots()[1].lr_scale == 1.0);
  for (Tensor* t : {&h, &v}) t->set_grad(Tensor::from_vector({0.5, -2.0}, {2}));
  for (Tensor* t : {&hw, &vw}) t->set_grad(Tensor::from_vector({0.5, -2.0, 1.0, 0.0}, {2, 2}));
  const double lr = 1e-2;
  opt.step(lr);
  std::vector<double> dh = h.to_vector(), dv = v.to_vector(), dhw = hw.to_vector(), dvw = vw.to_vector();
  const double g[4] = {0.5, -2.0, 1.0, 0.0}, p0[4] = {1.0, 2.0, 3.0, 4.0};
  for (int i = 0; i < 2; ++i) {
    double adam = g[i] / (std::fabs(g[i]) + 1e-6);  // m̂ / (√v̂ + eps) after one step
    CHECK(dh[i] == doctest::Approx((i ? -1.0 : 1.0) - 0.25 * lr * adam).epsilon(1e-6));
    CHECK(dv[i] == doctest::Approx((i ? -1.0 : 1.0) - lr * adam).epsilon(1e-6));
  }
  for (int i = 0; i < 4; ++i) {  // decoupled weight decay scales with the group's lr as well
    double adam = g[i] == 0 ? 0.0 : g[i] / (std::fabs(g[i]) + 1e-6);
    CHECK(dhw[i] == doctest::Approx(p0[i] * (1 - 0.25 * lr * 0.1) - 0.25 * lr * adam).epsilon(1e-6));
    CHECK(dvw[i] == doctest::Approx(p0[i] * (1 - lr * 0.1) - lr * adam).epsilon(1e-6));
  }
}
