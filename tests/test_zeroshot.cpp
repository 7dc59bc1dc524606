// Zero-shot classification pieces: tokenising texts, class embeddings (SPEC 1.6).
#include <doctest/doctest.h>

#include <cmath>

#include "core/grad_mode.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "tests/op_registry.h"

using namespace hc;

TEST_CASE("zero-shot: class embeddings are normalised means over templates") {
  Tokenizer tok = Tokenizer::train({"a photo of a cat", "a photo of a dog", "a blurry photo"}, 300);
  ModelConfig cfg;
  cfg.image = image_preset("vit-nano");
  cfg.image.image_size = 32;
  cfg.text = {32, 1, 2, 16};
  cfg.hyper = {32, 1, 2, 16};
  cfg.embed = 16;
  cfg.vocab = tok.vocab_size();
  HyperClip m(cfg);
  m.init_parameters(1);
  std::vector<std::string> classes = {"cat", "dog", "red fish"}, templates = {"a photo of a {}.", "a blurry {}"};
  Tensor W = class_embeddings(m, tok, classes, templates);
  REQUIRE(W.shape() == Shape{3, 16});
  std::vector<double> w = W.to_vector();
  for (int k = 0; k < 3; ++k) {
    double s = 0;
    for (int j = 0; j < 16; ++j) s += w[k * 16 + j] * w[k * 16 + j];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
  }
  // By hand for class 1: encode both prompts, normalise, average, normalise.
  NoGradGuard ng;
  Tensor tokens, eot;
  tokenize_batch(tok, {fill_template(templates[0], "dog"), fill_template(templates[1], "dog")}, 16, tokens, eot);
  CHECK(eot.to_ints()[0] == static_cast<int32_t>(tok.encode("a photo of a dog.").size()) + 1);
  Tensor e = m.encode_text(tokens, eot);
  std::vector<double> want = l2_normalize(mean(e, {0})).to_vector();
  std::vector<double> got(w.begin() + 16, w.begin() + 32);
  CHECK(test::max_abs_diff(got, want) < 1e-6);
  CHECK(fill_template("a {} here", "cat") == "a cat here");
  CHECK(cifar_templates().size() == 18);
}

TEST_CASE("zero-shot: class embeddings of many classes, encoded in chunks, match one class at a time") {
  Tokenizer tok = Tokenizer::train({"an emoji of a red cat", "a photo of a dog", "blue fish 12"}, 300);
  ModelConfig cfg;
  cfg.image = image_preset("vit-nano");
  cfg.image.image_size = 32;
  cfg.text = {32, 1, 2, 16};
  cfg.hyper = {32, 1, 2, 16};
  cfg.embed = 16;
  cfg.vocab = tok.vocab_size();
  HyperClip m(cfg);
  m.init_parameters(2);
  // 3 templates and 200 classes: 600 prompts, more than one chunk of 256, the last one partial.
  std::vector<std::string> templates = {"an emoji of {}.", "{}", "a photo of a {}"}, classes;
  for (int k = 0; k < 200; ++k) classes.push_back("cat " + std::to_string(k) + (k % 3 ? " red" : " blue fish"));
  Tensor W = class_embeddings(m, tok, classes, templates);
  REQUIRE(W.shape() == Shape{200, 16});
  std::vector<double> w = W.to_vector();
  double worst = 0;
  for (int k : {0, 1, 84, 85, 86, 170, 199}) {  // chunk edges: 256 / 3 = 85 classes per chunk
    Tensor one = class_embeddings(m, tok, {classes[k]}, templates);
    std::vector<double> got(w.begin() + k * 16, w.begin() + (k + 1) * 16);
    worst = std::max(worst, test::max_abs_diff(got, one.to_vector()));
  }
  CHECK(worst < 1e-5);  // float32 sums in another order only
}
