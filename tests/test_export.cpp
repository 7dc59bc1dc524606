// The exported classifier computes what the full model computes (hypernetwork in the loop), with
// batch norms folded into the convolutions (SPEC 1.7). Classifier::cosines runs the inference
// runtime (infer/runtime.h), so these are end-to-end checks of export and runtime together.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "core/grad_mode.h"
#include "infer/export.h"
#include "data/safetensors.h"
#include "infer/zeroshot.h"
#include "tests/model_fixture.h"
#include "tests/op_registry.h"

using namespace hc;

namespace {

double rel_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> av = a.to_vector(), bv = b.to_vector();
  double d = 0, s = 0;
  for (size_t i = 0; i < av.size(); ++i) d = std::max(d, std::fabs(av[i] - bv[i])), s = std::max(s, std::fabs(bv[i]));
  return d / s;
}

// Exports a randomised model and checks the classifier's cosines against the full model's.
void check_export(const char* image, Mode mode, const std::string& generated) {
  Tokenizer tok = Tokenizer::train({"a photo of a red circle", "a blue square", "a green star"}, 300);
  std::vector<std::string> classes = {"red circle", "blue square", "green star", "cat"};
  std::vector<std::string> templates = {"a photo of a {}.", "a {}"};
  CAPTURE(image);
  CAPTURE(mode_name(mode));
  CAPTURE(generated);
  ModelConfig cfg = test::tiny_config(image, tok.vocab_size(), 64, 12, 32, 32, mode);
  cfg.generated = generated;
  HyperClip m(cfg);
  m.init_parameters(3);
  test::randomise_as_trained(m, 11);
  Tensor images = test::randn({5, 3, 32, 32}, 4).to(DType::F32);
  // The full model: class matrix, hypernetwork on it, adapted image tower, cosines.
  m.eval();
  NoGradGuard ng;
  Tensor W = class_embeddings(m, tok, classes, templates);
  Tensor full = matmul(m.encode_image(images, m.generate(W, 0)), W, false, true);
  Classifier c = build_classifier(m, tok, classes, templates);
  if (std::string(image) != "vit-nano") CHECK(c.visual->named_buffers().empty());  // no norm layers left
  // float32, and the training path and the runtime sum in different orders (channels-last against
  // fused depthwise kernels, products split by thread count): measured 5.7e-7 to 1.02e-5, the
  // largest for convnet-nano last:4 when earlier tests have changed the thread count.
  const double bound = 2e-5;
  double err = rel_diff(c.cosines(images), full);  // the runtime
  CHECK(err <= bound);
  CHECK(rel_diff(c.cosines_tape(images), full) <= bound);  // the exported tower on the tape engine
  std::printf("export %s %s (generated %s): max rel diff %.2e\n", image, mode_name(mode), generated.c_str(), err);
  // Save and load: the same numbers from the file.
  std::string path = "/tmp/hyperclip_export_test_" + std::to_string(::getpid()) + ".safetensors";
  save_classifier(path, c);
  Classifier back = load_classifier(path);
  CHECK(back.class_names == classes);
  CHECK(rel_diff(back.cosines(images), full) <= bound);
  std::remove(path.c_str());
}

}  // namespace

TEST_CASE("export: the classifier's logits equal the full model's, ConvNet and MCi (folded) and ViT") {
  for (const char* image : {"convnet-nano", "vit-nano", "mci-nano"})
    for (Mode mode : {Mode::Hyper, Mode::Baseline, Mode::Token}) check_export(image, mode, "all");
}

TEST_CASE("export: a generated-layer subset folds only the generated layers' offsets") {
  check_export("convnet-nano", Mode::Hyper, "last:4");
  check_export("convnet-nano", Mode::Hyper, "first:2");
  check_export("vit-nano", Mode::Hyper, "last:3");
  check_export("mci-nano", Mode::Hyper, "last:5");
}

TEST_CASE("export: damaged or foreign classifier files are clear errors") {
  Tokenizer tok = Tokenizer::train({"a cat"}, 260);
  HyperClip m(test::tiny_config("convnet-nano", tok.vocab_size()));
  m.init_parameters(1);
  std::string path = "/tmp/hyperclip_export_bad_" + std::to_string(::getpid()) + ".safetensors";
  save_classifier(path, build_classifier(m, tok, {"cat", "dog"}, {"a {}"}));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 100);
  CHECK_THROWS_WITH_AS(load_classifier(path), doctest::Contains("truncated"), Error);
  std::string other = bytes;
  size_t at = other.find("\"version\":\"1\"");
  REQUIRE(at != std::string::npos);
  other[at + 11] = '9';
  std::ofstream(path, std::ios::binary | std::ios::trunc) << other;
  CHECK_THROWS_WITH_AS(load_classifier(path), doctest::Contains("classifier version '9'"), Error);
  write_safetensors(path, {{"w", Tensor::zeros({1})}});
  CHECK_THROWS_WITH_AS(load_classifier(path), doctest::Contains("not a hyperclip classifier"), Error);
  std::remove(path.c_str());
}
