// Reparameterisation (models/reparam.h): the folded MCi tower computes what the branch form computes
// in evaluation mode, with the hypernetwork in the loop, for every MCi preset, baseline and hyper
// mode, to 1e-10 relative in float64 and 1e-5 in float32; the folded Text-RepMixer likewise. The
// trained state is randomised (running statistics, BN scales and shifts, layer scales of order 0.1
// instead of 1e-5, a non-zero hypernetwork output layer), so that every branch matters.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>

#include "core/grad_mode.h"
#include "infer/export.h"
#include "infer/zeroshot.h"
#include "models/hyperclip.h"
#include "models/mci.h"
#include "models/reparam.h"
#include "tests/op_registry.h"

using namespace hc;

namespace {

// A model as after training: every BN's statistics and affine, every layer scale, the
// hypernetwork's output layer.
void randomise(HyperClip& m, uint64_t seed) {
  NoGradGuard ng;
  Generator g(seed);
  for (auto& [name, p] : m.named_parameters()) {
    if (name.rfind("hyper.output.", 0) == 0) fill_normal(p, g, 0.05);
    else if (p.dim() == 3 && name.size() > 6 && name.compare(name.size() - 6, 6, ".gamma") == 0) fill_uniform(p, g, 0.05, 0.5);
  }
  for (Module* mod : m.modules())
    if (auto* bn = dynamic_cast<BatchNorm2d*>(mod)) {
      fill_uniform(bn->weight, g, 0.5, 1.5);
      fill_normal(bn->bias, g, 0.1);
      fill_normal(bn->running_mean, g, 0.3);
      fill_uniform(bn->running_var, g, 0.5, 2.0);
    }
}

double rel_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> av = a.to_vector(), bv = b.to_vector();
  double d = 0, s = 0;
  for (size_t i = 0; i < av.size(); ++i) d = std::max(d, std::fabs(av[i] - bv[i])), s = std::max(s, std::fabs(bv[i]));
  return d / s;
}

ModelConfig small(const std::string& image, Mode mode, int64_t size) {
  ModelConfig c;
  c.image = image_preset(image);
  c.image.image_size = size;
  c.text = {32, 1, 2, 8, "mct", false};
  c.hyper = {32, 1, 2, 16};
  c.embed = 32;
  c.vocab = 50;
  c.mode = mode;
  return c;
}

// The branch form against the folded form of one preset, in float32 and then (the same weights
// widened) in float64, without generated values (baseline) and with the hypernetwork's output for a
// set of four class embeddings (hyper). errors[dtype is F64][hyper].
void fold_errors(const std::string& image, int64_t size, double errors[2][2]) {
  ModelConfig cfg = small(image, Mode::Hyper, size);
  HyperClip m(cfg);
  m.init_parameters(5);
  randomise(m, 6);
  m.eval();
  MciTower folded(cfg.image.mci, cfg.embed, true);
  folded.eval();
  NoGradGuard ng;
  for (DType dtype : {DType::F32, DType::F64}) {
    m.to(dtype);
    folded.to(dtype);
    Tensor images = test::randn({2, 3, size, size}, 7).to(dtype);
    for (bool hyper : {false, true}) {
      Tensor gen = hyper ? m.generate(l2_normalize(test::randn({4, cfg.embed}, 8).to(dtype)), 0) : Tensor();  // [1, P]
      Generated g{gen, Tensor()};
      Tensor branches = m.visual->forward(images, hyper ? &g : nullptr);
      fold_mci(*std::dynamic_pointer_cast<MciTower>(m.visual), hyper ? gen.to_vector() : std::vector<double>(), folded);
      errors[dtype == DType::F64][hyper] = rel_diff(folded.forward(images, nullptr), branches);
    }
  }
  CHECK(folded.named_buffers().empty());  // no normalisation layer left
}

}  // namespace

TEST_CASE("reparameterisation: every folded MCi preset equals its branch form, baseline and hyper") {
  // mci0/1/2 at 32 px (their last stage sees 1×1 maps), mci-nano at its 64 px (2×2: attention over
  // four tokens, the 7×7 kernels across borders).
  for (const char* image : {"mci-nano", "mci0", "mci1", "mci2"}) {
    CAPTURE(image);
    double e[2][2];
    fold_errors(image, std::string(image) == "mci-nano" ? 64 : 32, e);
    for (int hyper : {0, 1}) {
      CAPTURE(hyper);
      std::printf("fold %-8s %-8s float64 %.1e  float32 %.1e\n", image, hyper ? "hyper" : "baseline", e[1][hyper], e[0][hyper]);
      CHECK(e[1][hyper] <= 1e-10);
      CHECK(e[0][hyper] <= 1e-5);
    }
  }
}

TEST_CASE("reparameterisation: the folded Text-RepMixer equals its branch form") {
  for (DType dtype : {DType::F64, DType::F32}) {
    INFO(std::string(dtype_name(dtype)));
    ModelConfig cfg = small("mci-nano", Mode::Baseline, 64);
    cfg.text = {64, 2, 2, 16, "mct", false};
    HyperClip m(cfg);
    m.init_parameters(9);
    randomise(m, 10);
    m.to(dtype);
    m.eval();
    NoGradGuard ng;
    TextTower folded(cfg.text, cfg.vocab, cfg.embed, true);
    folded.to(dtype);
    folded.eval();
    fold_text(*m.text, folded);
    CHECK(folded.named_buffers().empty());
    // Three captions of different lengths, padded to 16 (and one shorter batch of 12 positions).
    std::vector<int32_t> ids(3 * 16, 0);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j <= 4 + 4 * i; ++j) ids[i * 16 + j] = 1 + (7 * i + 3 * j) % 47;
    Tensor tokens = Tensor::from_ints(ids, {3, 16}), eot = Tensor::from_ints({4, 8, 12}, {3});
    double e = rel_diff(folded.forward(tokens, eot), m.text->forward(tokens, eot));
    Tensor short_tokens = slice(tokens, 1, 0, 12), short_eot = Tensor::from_ints({4, 8, 11}, {3});
    double e_short = rel_diff(folded.forward(short_tokens, short_eot), m.text->forward(short_tokens, short_eot));
    std::printf("fold text-mct %s %.1e (12 positions %.1e)\n", dtype_name(dtype), e, e_short);
    CHECK(e <= (dtype == DType::F64 ? 1e-10 : 1e-5));
    CHECK(e_short <= (dtype == DType::F64 ? 1e-10 : 1e-5));
  }
}

TEST_CASE("export --text-only: a Text-RepMixer is saved folded and embeds as the trained tower does") {
  Tokenizer tok = Tokenizer::train({"a photo of a red circle", "a blue square", "a green star"}, 300);
  ModelConfig cfg = small("mci-nano", Mode::Baseline, 64);
  cfg.text = {64, 1, 2, 16, "mct", false};
  cfg.vocab = tok.vocab_size();
  HyperClip m(cfg);
  m.init_parameters(12);
  randomise(m, 13);
  m.eval();
  std::string path = "/tmp/hyperclip_text_encoder_" + std::to_string(::getpid()) + ".safetensors";
  save_text_encoder(path, m, tok);
  TextEncoder e = load_text_encoder(path);
  std::remove(path.c_str());
  CHECK(e.text->named_buffers().empty());  // folded: no batch norm left
  std::vector<std::string> texts = {"a red circle", "a photo of a blue square", "star"};
  Tensor tokens, eot;
  tokenize_batch(tok, texts, cfg.text.context, tokens, eot);
  NoGradGuard ng;
  double err = rel_diff(e.embed(texts), m.encode_text(tokens, eot));
  std::printf("text encoder (text-mct, folded) max rel diff %.1e\n", err);
  CHECK(err <= 1e-5);
}
