// Zero-shot classification pieces: tokenising texts, class embeddings (SPEC 1.6), task splits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "core/grad_mode.h"
#include "infer/templates.h"
#include "core/random.h"
#include "data/image.h"
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

namespace {

// 12 labelled pattern images in 6 classes (two each).
class TinyLabelled : public Dataset {
 public:
  size_t size() const override { return 12; }
  Sample get(size_t i) const override {
    Sample s;
    s.image.width = s.image.height = 32;
    s.image.rgb.resize(32 * 32 * 3);
    for (size_t p = 0; p < s.image.rgb.size(); ++p) s.image.rgb[p] = static_cast<uint8_t>((p * (7 + i) + 31 * i) & 0xff);
    s.label = static_cast<int>(i % 6);
    return s;
  }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string describe() const override { return "tiny"; }

 private:
  std::vector<std::string> names_ = {"cat", "dog", "fish", "pear", "plum", "fig"};
};

// Top-1 hits of images among `classes` only, with the hypernetwork run on those classes alone.
int64_t top1_by_hand(const HyperClip& m, const Tokenizer& tok, const Dataset& d, const std::vector<int>& classes,
                     const std::vector<std::string>& templates, Tensor* generated) {
  NoGradGuard ng;
  std::vector<std::string> names;
  for (int k : classes) names.push_back(d.class_names()[k]);
  Tensor W = class_embeddings(m, tok, names, templates);  // [K_t, E]
  *generated = m.generate(W, 0);
  int64_t hits = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    Sample s = d.get(i);
    auto at = std::find(classes.begin(), classes.end(), s.label);
    if (at == classes.end()) continue;
    Tensor v = m.encode_image(images_to_tensor({s.image}), *generated);  // [1, E]
    std::vector<double> logits = matmul(v, W, false, true).to_vector();
    hits += std::max_element(logits.begin(), logits.end()) - logits.begin() == at - classes.begin();
  }
  return hits;
}

}  // namespace

TEST_CASE("zero-shot task split: each task's hypernetwork sees only its classes, images ranked among them") {
  Tokenizer tok = Tokenizer::train({"a cat", "a dog", "a fish", "a pear", "a plum", "a fig"}, 300);
  TinyLabelled d;
  std::vector<std::string> templates = {"a {}"};
  for (Mode mode : {Mode::Hyper, Mode::Baseline}) {
    ModelConfig cfg;
    cfg.image = image_preset("vit-nano");
    cfg.image.image_size = 32;
    cfg.text = {32, 1, 2, 16};
    cfg.hyper = {32, 1, 2, 16};
    cfg.embed = 16;
    cfg.vocab = tok.vocab_size();
    cfg.mode = mode;
    HyperClip m(cfg);
    m.init_parameters(4);
    {
      NoGradGuard ng;  // a hypernetwork that generates something
      Generator g(6);
      for (auto& [name, p] : m.named_parameters())
        if (name.rfind("hyper.output.", 0) == 0) fill_normal(p, g, 0.5);
    }
    m.eval();
    TaskSplit split = task_split_from_groups({"animals", "animals", "animals", "fruit", "fruit", "fruit"});
    CHECK(split.names == std::vector<std::string>{"animals", "fruit"});
    ZeroShotOptions zo;
    zo.batch = 5;  // batches that mix the tasks' images
    SplitResult r = zero_shot_eval_split(m, tok, d, d.class_names(), templates, split, zo);
    REQUIRE(r.tasks.size() == 2);
    CHECK(r.n == 12);
    for (int t = 0; t < 2; ++t) {
      Tensor gen;
      int64_t hits = top1_by_hand(m, tok, d, t == 0 ? std::vector<int>{0, 1, 2} : std::vector<int>{3, 4, 5}, templates, &gen);
      CHECK(r.tasks[t].n == 6);
      CHECK(r.tasks[t].top1 == doctest::Approx(hits / 6.0));
      CHECK(r.tasks[t].top5 == 1.0);  // 3 classes
      CHECK(r.tasks[t].generated.defined() == (mode == Mode::Hyper));
      if (mode == Mode::Hyper) CHECK(test::max_abs_diff(r.tasks[t].generated.to_vector(), gen.to_vector()) < 1e-6);
    }
    CHECK(r.mean_top1 == doctest::Approx((r.tasks[0].top1 + r.tasks[1].top1) / 2));
    if (mode == Mode::Hyper)  // the two tasks' class sets generate different parameters
      CHECK(test::max_abs_diff(r.tasks[0].generated.to_vector(), r.tasks[1].generated.to_vector()) > 1e-4);
    // One task of every class is the plain evaluation.
    TaskSplit all = task_split_from_groups(std::vector<std::string>(6, "all"));
    ZeroShotResult whole = zero_shot_eval(m, tok, d, d.class_names(), templates, zo);
    CHECK(zero_shot_eval_split(m, tok, d, d.class_names(), templates, all, zo).tasks[0].top1 == whole.top1);
  }
}

TEST_CASE("zero-shot task split file: every class once, clear errors") {
  std::string path = "/tmp/hyperclip_task_split_" + std::to_string(::getpid()) + ".tsv";
  std::vector<std::string> classes = {"cat", "dog", "pear"};
  auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  write("cat\tanimals\npear\tfruit\n\ndog\tanimals\n");
  TaskSplit s = read_task_split(path, classes);
  CHECK(s.names == std::vector<std::string>{"animals", "fruit"});
  CHECK(s.of_class == std::vector<int32_t>{0, 0, 1});
  write("cat\tanimals\ndog\tanimals\n");
  CHECK_THROWS_WITH_AS(read_task_split(path, classes), doctest::Contains("class 'pear' is in no task"), Error);
  write("cat\tanimals\ncat\tpets\ndog\ta\npear\tb\n");
  CHECK_THROWS_WITH_AS(read_task_split(path, classes), doctest::Contains(":2: class 'cat' is listed twice"), Error);
  write("cow\tanimals\n");
  CHECK_THROWS_WITH_AS(read_task_split(path, classes), doctest::Contains(":1: class 'cow' is not a class"), Error);
  write("cat animals\n");
  CHECK_THROWS_WITH_AS(read_task_split(path, classes), doctest::Contains("expected \"class<TAB>task\""), Error);
  std::remove(path.c_str());
}
