// Zero-shot classification pieces: tokenising texts, class embeddings (SPEC 1.6).
#include <doctest/doctest.h>

#include <cmath>

#include "core/grad_mode.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "tests/model_fixture.h"
#include "tests/op_registry.h"

using namespace hc;

TEST_CASE("zero-shot: class embeddings are normalised means over templates") {
  Tokenizer tok = Tokenizer::train({"a photo of a cat", "a photo of a dog", "a blurry photo"}, 300);
  HyperClip m(test::tiny_config("vit-nano", tok.vocab_size(), 32, 16, 16));
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
  HyperClip m(test::tiny_config("vit-nano", tok.vocab_size(), 32, 16, 16));
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

TEST_CASE("zero-shot scores: top-1, top-5, mean-class top-1 and the majority share, by hand") {
  // 3 classes, 6 samples: class 0 four times (three right), class 1 twice (one right), class 2 never.
  ZeroShotTally t(3);
  const double right0[] = {0.9, 0.1, 0.0}, wrong0[] = {0.2, 0.5, 0.1};
  const double right1[] = {0.1, 0.8, 0.3}, wrong1[] = {0.6, 0.4, 0.5};  // class 1 ranked third
  for (int i = 0; i < 3; ++i) t.add(right0, 0);
  t.add(wrong0, 0);
  t.add(right1, 1);
  t.add(wrong1, 1);
  ZeroShotResult r = t.result();
  CHECK(r.n == 6);
  CHECK(t.count() == 6);
  CHECK(r.top1 == doctest::Approx(4.0 / 6));
  CHECK(r.top5 == 1.0);  // K = 3: every sample is within the top 5
  CHECK(r.mean_class_top1 == doctest::Approx((3.0 / 4 + 1.0 / 2) / 2));  // class 2 has no samples
  CHECK(r.majority == doctest::Approx(4.0 / 6));
  // A tie with the true class counts for the sample; a label outside the classes is an error.
  const double tie[] = {0.5, 0.5, 0.5};
  ZeroShotTally u(3);
  u.add(tie, 2);
  CHECK(u.result().top1 == 1.0);
  CHECK_THROWS_WITH_AS(u.add(tie, 3), doctest::Contains("label 3 outside 0..2"), Error);
  // Top-5 with more classes: the true class ranked sixth is a miss, fifth a hit.
  std::vector<double> l(10, 0.0);
  for (int k = 0; k < 5; ++k) l[k] = 1.0 + k;
  ZeroShotTally v(10);
  v.add(l.data(), 5);  // five classes above: out of the top 5
  l[0] = -1.0;
  v.add(l.data(), 5);  // four above
  CHECK(v.result().top5 == doctest::Approx(0.5));
  CHECK(v.result().top1 == 0.0);
  CHECK(ZeroShotTally(4).result().n == 0);
}
