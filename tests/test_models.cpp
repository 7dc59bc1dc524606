// The towers and the whole model: parameter counts against known architectures, names, the
// generated-parameter layout, and the properties SPEC 1.4 promises.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "core/grad_mode.h"
#include "models/convnet.h"
#include "models/config_io.h"
#include "models/hyperclip.h"
#include "models/vit.h"
#include "train/step.h"
#include "tests/op_registry.h"

using namespace hc;

static ModelConfig nano_config(const std::string& image, Mode mode) {
  ModelConfig c;
  c.image = image_preset(image);
  c.text = text_preset("text-nano");
  c.hyper = hyper_preset("hyper-nano");
  c.mode = mode;
  c.embed = 128;
  c.vocab = 8192;
  return c;
}

TEST_CASE("round8 follows SPEC 1.1") {
  CHECK(round8(32 * 1.0) == 32);
  CHECK(round8(16 * 0.5) == 8);
  CHECK(round8(24 * 0.5) == 16);   // 12 -> 16
  CHECK(round8(40 * 0.5) == 24);   // 20 -> 24
  CHECK(round8(112 * 0.5) == 56);
  CHECK(round8(3.0) == 8);         // never below 8
  CHECK(round8(1280 * 0.5) == 640);
  CHECK(round8(10.0) == 16);       // floor(14/8)*8 = 8 < 0.9*10, so +8
}

TEST_CASE("parameter counts match the known architectures") {
  // EfficientNet-B0 without its classifier has 4,007,548 parameters (5,288,548 minus the
  // 1280x1000 classifier and its bias); the tower adds the 1280 -> 512 projection.
  ModelConfig b0;
  b0.image = image_preset("convnet-b0");
  b0.text = text_preset("text-base");
  b0.mode = Mode::Baseline;
  b0.embed = 512;
  b0.vocab = 8192;
  ParamCounts c = count_parameters(b0);
  CHECK(c.image == 4007548 + 1280 * 512);
  // Text: 12 blocks of 12 D² + 13 D, embeddings, final LN, projection.
  const int64_t D = 512;
  CHECK(c.text == 12 * (12 * D * D + 13 * D) + 8192 * D + 77 * D + 2 * D + D * 512);
  CHECK(c.hyper == 0);
  CHECK(c.total == c.image + c.text + 2);
  // ViT-B/16: 12 blocks of 12 D² + 13 D, patch embedding, 196 position embeddings, final LN,
  // projection (no class token).
  ModelConfig vb = b0;
  vb.image = image_preset("vit-b16");
  const int64_t V = 768;
  CHECK(count_parameters(vb).image ==
        12 * (12 * V * V + 13 * V) + (3 * 16 * 16 * V + V) + 196 * V + 2 * V + V * 512);
}

TEST_CASE("hypernetwork size follows the generated layers") {
  HyperClip m(nano_config("convnet-nano", Mode::Hyper));
  int64_t channels = 0;
  for (GeneratedNorm* n : m.visual->generated_norms()) channels += n->channels;
  CHECK(m.generated_size() == 2 * channels);
  const int64_t H = 128, B = 64, E = 128, P = m.generated_size();
  CHECK(m.hyper->parameter_count() ==
        (E * H + H) + 2 * (12 * H * H + 13 * H) + 2 * H + (H * B + B) + (B * P + P));
  // Layers laid out one after the other in module order.
  auto norms = m.visual->generated_norms();
  CHECK(norms.front() == &std::dynamic_pointer_cast<ConvNetTower>(m.visual)->stem->bn->generated);
  CHECK(norms.front()->offset == 0);
  for (size_t i = 1; i < norms.size(); ++i)
    CHECK(norms[i]->offset == norms[i - 1]->offset + 2 * norms[i - 1]->channels);
  // ViT: two norms per block and the final one.
  HyperClip v(nano_config("vit-nano", Mode::Hyper));
  CHECK(v.visual->generated_norms().size() == 6 * 2 + 1);
  CHECK(v.generated_size() == 13 * 2 * 192);
}

TEST_CASE("a generated-layer subset: first:N and last:N pick the layers, the rest keep their own γ, β") {
  ModelConfig cfg = nano_config("convnet-nano", Mode::Hyper);
  HyperClip all(cfg);
  std::vector<GeneratedNorm*> every = all.visual->generated_norms();
  const int64_t L = static_cast<int64_t>(every.size());
  for (const char* which : {"first:1", "first:3", "last:4", "last:1"}) {
    CAPTURE(which);
    cfg.generated = which;
    HyperClip m(cfg);
    std::vector<GeneratedNorm*> norms = m.visual->generated_norms();
    const bool first = std::string(which).rfind("first", 0) == 0;
    const int64_t n = std::stoll(std::string(which).substr(std::string(which).find(':') + 1));
    int64_t p = 0;
    for (int64_t i = 0; i < L; ++i) {
      CAPTURE(i);
      bool chosen = first ? i < n : i >= L - n;
      if (!chosen) {
        CHECK(norms[i]->offset == -1);
        continue;
      }
      CHECK(norms[i]->offset == p);  // the chosen layers are laid out one after the other
      p += 2 * norms[i]->channels;
    }
    CHECK(m.generated_size() == p);
    CHECK(m.hyper->output->weight.size(0) == p);
    // The selection is part of the model configuration (checkpoints and exported classifiers).
    ModelConfig back = config_from_json(config_to_json(cfg), "test");
    CHECK(back.generated == which);
    CHECK(config_differences(cfg, back).empty());
  }
  cfg.generated = "last:2";
  ModelConfig other = cfg;
  other.generated = "all";
  CHECK(config_differences(cfg, other) == "generated \"last:2\" vs \"all\"");
  // Configurations written before the option generate every layer.
  CHECK(config_from_json(R"({"image": {"kind": "vit", "dim": 8, "depth": 1, "heads": 1, "patch": 8, "image_size": 16},
      "text": {"dim": 8, "layers": 1, "heads": 1, "context": 4}, "hyper": {"dim": 8, "layers": 1, "heads": 1,
      "bottleneck": 4}, "embed": 8, "vocab": 16, "mode": "hyper"})", "old.json").generated == "all");
  // Malformed selections and N outside 1..L are clear errors naming the selection.
  for (const std::string& bad : std::vector<std::string>{"some", "last", "last:", "last:0", "last:2x", "middle:2", "first:-1",
                          "first:" + std::to_string(L + 1)}) {
    CAPTURE(bad);
    cfg.generated = bad;
    CHECK_THROWS_WITH_AS(HyperClip{cfg}, doctest::Contains(("generated layers '" + bad + "'").c_str()), Error);
  }
  cfg.generated = "last:" + std::to_string(L);  // every layer, named another way
  CHECK(HyperClip(cfg).generated_size() == all.generated_size());
}

TEST_CASE("state-dict names follow docs/model.md") {
  HyperClip m(nano_config("convnet-nano", Mode::Token));
  std::vector<std::string> names;
  for (auto& p : m.state_dict()) names.push_back(p.first);
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  for (const char* n :
       {"visual.stem.conv.weight", "visual.stem.bn.running_var", "visual.blocks.0.0.dw.conv.weight",
        "visual.blocks.1.0.expand.conv.weight", "visual.blocks.3.1.se.reduce.bias",
        "visual.blocks.6.0.project.bn.weight", "visual.head.conv.weight", "visual.proj.weight",
        "text.token_embedding.weight", "text.positional_embedding", "text.blocks.3.attn.qkv.weight",
        "text.blocks.0.mlp.fc2.bias", "text.ln_final.weight", "text.proj.weight", "hyper.input.weight",
        "hyper.blocks.1.norm2.bias", "hyper.bottleneck.weight", "hyper.output.bias", "hyper.tokens",
        "logit_scale", "logit_bias"})
    CHECK_MESSAGE(has(n), n);
  CHECK_FALSE(has("visual.blocks.0.0.expand.conv.weight"));  // stage 1 has expansion 1
}

// A small random batch for the nano configurations.
struct Batch {
  Tensor images, tokens, eot;
};
static Batch random_batch(int64_t n, int64_t image_size, int64_t context, uint64_t seed) {
  Batch b;
  b.images = test::randn({n, 3, image_size, image_size}, seed).to(DType::F32);
  std::vector<int32_t> tok(n * context, 0), eot(n);
  for (int64_t i = 0; i < n; ++i) {
    eot[i] = static_cast<int32_t>(2 + (i * 5 + seed) % (context - 3));
    for (int64_t t = 0; t <= eot[i]; ++t) tok[i * context + t] = static_cast<int32_t>(1 + (i * 31 + t * 7) % 100);
  }
  b.tokens = Tensor::from_ints(tok, {n, context});
  b.eot = Tensor::from_ints(eot, {n});
  return b;
}

TEST_CASE("a new HyperCLIP model computes exactly what the baseline computes") {
  for (const char* image : {"convnet-nano", "vit-nano"}) {
    CAPTURE(image);
    ModelConfig cfg = nano_config(image, Mode::Hyper);
    cfg.image.image_size = 32;
    if (cfg.image.kind == "vit") cfg.image.image_size = 32;
    cfg.text.context = 8;
    cfg.text.layers = 1;
    cfg.vocab = 128;
    HyperClip hyper(cfg);
    hyper.init_parameters(7);
    cfg.mode = Mode::Baseline;
    HyperClip base(cfg);
    base.init_parameters(7);
    Batch b = random_batch(4, 32, 8, 3);
    NoGradGuard ng;
    ModelOutput h = hyper.forward(b.images, b.tokens, b.eot), o = base.forward(b.images, b.tokens, b.eot);
    // The hypernetwork's output layer starts at zero, so the generated offsets are all zero.
    std::vector<double> gen = h.hyper.to_vector();
    CHECK(std::all_of(gen.begin(), gen.end(), [](double x) { return x == 0; }));
    CHECK(test::max_abs_diff(h.image_emb.to_vector(), o.image_emb.to_vector()) == 0);
    CHECK(h.loss.item() == o.loss.item());
  }
}

TEST_CASE("the hypernetwork's output does not depend on the order of the set") {
  ModelConfig cfg = nano_config("convnet-nano", Mode::Hyper);
  HyperClip m(cfg);
  m.init_parameters(11);
  NoGradGuard ng;
  for (auto& [name, p] : m.named_parameters())
    if (name.rfind("hyper.output.", 0) == 0) {
      Generator g(5);
      fill_normal(p, g, 0.05);
    }
  Tensor e = l2_normalize(test::randn({5, 128}, 9).to(DType::F32));
  Tensor reversed = concat({slice(e, 0, 3, 5), slice(e, 0, 0, 3)}, 0);
  std::vector<double> a = m.generate(e, 0).to_vector(), r = m.generate(reversed, 0).to_vector();
  CHECK(test::max_abs_diff(a, r) < 1e-6);
  double mx = 0;
  for (double x : a) mx = std::max(mx, std::fabs(x));
  CHECK(mx > 1e-3);  // and it is not trivially zero
}

TEST_CASE("initialisation: seeded, by the documented conventions") {
  ModelConfig cfg = nano_config("convnet-nano", Mode::Hyper);
  HyperClip a(cfg), b(cfg), c(cfg);
  a.init_parameters(1);
  b.init_parameters(1);
  c.init_parameters(2);
  auto pa = a.named_parameters(), pb = b.named_parameters(), pc = c.named_parameters();
  bool differs = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    CHECK(pa[i].second.to_vector() == pb[i].second.to_vector());  // same seed, same weights
    differs = differs || pa[i].second.to_vector() != pc[i].second.to_vector();
  }
  CHECK(differs);
  auto stats = [](const Tensor& t) {
    std::vector<double> v = t.to_vector();
    double s = 0, ss = 0, mx = 0;
    for (double x : v) s += x, ss += x * x, mx = std::max(mx, std::fabs(x));
    double m = s / v.size();
    return std::array<double, 3>{m, std::sqrt(ss / v.size() - m * m), mx};
  };
  for (auto& [name, p] : pa) {
    CAPTURE(name);
    auto [m, sd, mx] = stats(p);
    if (name.rfind("hyper.output.", 0) == 0) {
      CHECK(mx == 0);
    } else if (p.dim() == 4 && p.numel() >= 2000) {
      double want = std::sqrt(2.0 / (p.size(0) * p.size(2) * p.size(3)));  // Kaiming, fan-out
      CHECK(sd == doctest::Approx(want).epsilon(0.1));
    } else if (p.dim() == 2 && p.numel() >= 2000) {
      CHECK(sd == doctest::Approx(0.02 * 0.88).epsilon(0.1));  // N(0, 0.02) cut at 2 std: std 0.88 * 0.02
      CHECK(mx <= 0.04);
    }
  }
  CHECK(a.logit_scale.item() == doctest::Approx(std::log(10.0)));
  CHECK(a.logit_bias.item() == -10);
  for (auto& [name, buf] : a.named_buffers()) {
    auto [m, sd, mx] = stats(buf);
    CHECK(mx == (name.find("running_var") != std::string::npos ? 1.0 : 0.0));
  }
}

TEST_CASE("training steps in every mode: gradients reach every parameter; t' is clamped") {
  for (Mode mode : {Mode::Baseline, Mode::Hyper, Mode::Token}) {
    CAPTURE(mode_name(mode));
    ModelConfig cfg = nano_config("vit-nano", mode);
    cfg.image.image_size = 32;
    cfg.text.context = 8;
    cfg.text.layers = 1;
    cfg.vocab = 128;
    cfg.set_size = mode == Mode::Hyper ? 2 : 0;
    cfg.num_tokens = 4;
    HyperClip m(cfg);
    m.init_parameters(3);
    {
      NoGradGuard ng;
      for (auto& [name, p] : m.named_parameters())
        if (name.rfind("hyper.output.", 0) == 0) {
          Generator g(9);
          fill_normal(p, g, 0.02);  // a trained model's hypernetwork is not zero
        }
      m.logit_scale.fill_(7.0);  // above ln 100
    }
    Batch b = random_batch(4, 32, 8, 5);
    m.zero_grad();
    ModelOutput out = m.forward(b.images, b.tokens, b.eot);
    CHECK(std::isfinite(out.loss.item()));
    out.loss.backward();
    for (auto& [name, p] : m.named_parameters()) {
      CAPTURE(name);
      REQUIRE(p.grad().defined());
    }
    if (mode == Mode::Token) {
      std::vector<double> g = m.hyper->tokens.grad().to_vector();
      CHECK(std::any_of(g.begin(), g.end(), [](double x) { return x != 0; }));
      CHECK(out.hyper.shape() == Shape{1, m.generated_size()});
    }
    AdamW opt(m.named_parameters(), AdamWConfig{});
    StepResult r = train_step(m, opt, b.images, b.tokens, b.eot, 1e-3, 1.0);
    CHECK(std::isfinite(r.loss));
    CHECK(r.grad_norm > 0);
    CHECK(m.logit_scale.item() == doctest::Approx(std::log(100.0)));
  }
}
