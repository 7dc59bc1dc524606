// Whole-model parity with the independent PyTorch implementation (tools/torch_reference.py).
// Each reference file holds a small configuration's inputs, initial weights, outputs, every
// parameter gradient and the losses of 10 AdamW steps (see the script). The engine loads the
// weights by name, runs the same computation in float32, and must match:
//   loss, embeddings, hypernetwork output: max|a - r| <= 1e-5 * max|r|
//   every parameter gradient:             max|a - r| <= 1e-4 * max|r|, or <= 1e-6 absolute
//   the 10 training losses:               |a - r| <= 1e-4 * |r| each
//   MCi: the folded tower's embeddings (out.folded_image_emb, from the initial state in evaluation
//   mode, the hypernetwork's output for one set of the batch's captions): <= 1e-5 * max|r|
// On failure the worst tensors are listed. PyTorch is needed only to regenerate the files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/grad_mode.h"
#include "core/tape.h"
#include "data/safetensors.h"
#include "models/config_io.h"
#include "models/hyperclip.h"
#include "models/mci.h"
#include "models/reparam.h"
#include "train/step.h"

using namespace hc;
using json = nlohmann::json;

namespace {

// Loads every parameter and buffer from "param.<name>"; the file must hold exactly the model's
// state dict.
void load_initial(HyperClip& model, const SafeTensors& ref) {
  NoGradGuard ng;
  size_t in_file = 0;
  for (auto& [name, t] : ref.tensors) in_file += name.rfind("param.", 0) == 0;
  NamedTensors sd = model.state_dict();
  REQUIRE_MESSAGE(in_file == sd.size(), "reference holds ", in_file, " tensors, the model ", sd.size());
  for (auto& [name, t] : sd) {
    REQUIRE_MESSAGE(ref.has("param." + name), "reference lacks ", name);
    const Tensor& r = ref.get("param." + name);
    REQUIRE_MESSAGE(r.shape() == t.shape(), name, ": reference ", r.desc(), ", model ", t.desc());
    t.copy_(r);
  }
}

struct Err {
  double abs = 0, scale = 0;
  double rel() const { return scale > 0 ? abs / scale : abs; }
};
Err compare(const Tensor& a, const Tensor& r) {
  std::vector<double> av = a.to_vector(), rv = r.to_vector();
  Err e;
  for (size_t i = 0; i < rv.size(); ++i) {
    e.abs = std::max(e.abs, std::fabs(av[i] - rv[i]));
    e.scale = std::max(e.scale, std::fabs(rv[i]));
  }
  return e;
}

void check_parity(const std::string& file) {
  CAPTURE(file);
  SafeTensors ref = read_safetensors(file);
  REQUIRE(ref.metadata.at("format") == "hyperclip-reference");
  REQUIRE(ref.metadata.at("version") == "1");
  json cfg = json::parse(ref.metadata.at("config"));
  HyperClip model(config_from_json(ref.metadata.at("config"), file));
  load_initial(model, ref);
  model.train();
  const Tensor &images = ref.get("input.images"), &tokens = ref.get("input.tokens"), &eot = ref.get("input.eot");

  // One forward and backward pass.
  current_tape().clear();
  model.zero_grad();
  ModelOutput out = model.forward(images, tokens, eot);
  std::vector<std::pair<std::string, Err>> fwd = {
      {"loss", compare(out.loss, ref.get("out.loss"))},
      {"image_emb", compare(out.image_emb, ref.get("out.image_emb"))},
      {"text_emb", compare(out.text_emb, ref.get("out.text_emb"))}};
  if (ref.has("out.hyper")) fwd.push_back({"hyper", compare(out.hyper, ref.get("out.hyper"))});
  out.loss.backward();

  std::printf("parity %s\n", file.c_str());
  for (auto& [name, e] : fwd) {
    std::printf("  %-10s max rel err %.2e\n", name.c_str(), e.rel());
    CHECK_MESSAGE(e.rel() <= 1e-5, name, ": relative error ", e.rel());
  }
  std::vector<std::pair<std::string, Err>> grads;
  for (auto& [name, p] : model.named_parameters()) {
    REQUIRE_MESSAGE(p.grad().defined(), "no gradient reached ", name);
    grads.push_back({name, compare(p.grad(), ref.get("grad." + name))});
  }
  // Report the worst relative error among gradients of real size, and the worst absolute error
  // among those whose true value is ~0 (e.g. the bias of a batch norm feeding straight into
  // another batch norm, which the second one's mean subtraction cancels exactly).
  int failed = 0;
  double worst_rel = 0, worst_tiny_abs = 0;
  std::string worst_rel_name, worst_tiny_name;
  size_t tiny = 0;
  for (auto& [name, e] : grads) {
    bool ok = e.rel() <= 1e-4 || e.abs <= 1e-6;
    if (!ok) {
      std::printf("  FAIL grad %-48s rel %.2e abs %.2e (scale %.2e)\n", name.c_str(), e.rel(), e.abs, e.scale);
      ++failed;
    } else if (e.rel() <= 1e-4) {
      if (e.rel() >= worst_rel) worst_rel = e.rel(), worst_rel_name = name;
    } else {
      ++tiny;
      if (e.abs >= worst_tiny_abs) worst_tiny_abs = e.abs, worst_tiny_name = name;
    }
  }
  std::printf("  gradients  %zu tensors, worst rel err %.2e (%s)", grads.size(), worst_rel, worst_rel_name.c_str());
  if (tiny) std::printf("; %zu with true value ~0, worst abs err %.2e (%s)", tiny, worst_tiny_abs, worst_tiny_name.c_str());
  std::printf("\n");
  CHECK_MESSAGE(failed == 0, failed, " gradients outside tolerance");

  // MCi: the engine's folded tower against PyTorch's independent fold (tools/torch_reference.py).
  if (ref.has("out.folded_image_emb")) {
    NoGradGuard ng;
    load_initial(model, ref);
    model.eval();
    Tensor gen = model.generate(model.encode_text(tokens, eot), 0);  // one set: [1, P] or undefined
    MciTower folded(model.config().image.mci, model.config().embed, true);
    folded.eval();
    fold_mci(*std::dynamic_pointer_cast<MciTower>(model.visual), gen.defined() ? gen.to_vector() : std::vector<double>(),
             folded);
    Err e = compare(l2_normalize(folded.forward(images, nullptr)), ref.get("out.folded_image_emb"));
    std::printf("  folded     max rel err %.2e\n", e.rel());
    CHECK_MESSAGE(e.rel() <= 1e-5, "folded tower: relative error ", e.rel());
    model.train();
  }

  // Ten AdamW steps from the initial state.
  load_initial(model, ref);
  const json& o = cfg.at("optim");
  AdamWConfig ac;
  ac.lr = o.at("lr").get<double>();
  ac.weight_decay = o.at("weight_decay").get<double>();
  ac.beta1 = o.at("beta1").get<double>();
  ac.beta2 = o.at("beta2").get<double>();
  ac.eps = o.at("eps").get<double>();
  AdamW opt(model.named_parameters(), ac);
  int64_t steps = o.at("steps").get<int64_t>(), warmup = o.at("warmup").get<int64_t>();
  std::vector<double> want = ref.get("out.step_losses").to_vector();
  REQUIRE(static_cast<int64_t>(want.size()) == steps);
  double worst = 0;
  for (int64_t s = 0; s < steps; ++s) {
    double loss = train_step(model, opt, images, tokens, eot, lr_at(s, ac.lr, warmup, steps), o.at("clip").get<double>()).loss;
    double rel = std::fabs(loss - want[s]) / std::fabs(want[s]);
    worst = std::max(worst, rel);
    CHECK_MESSAGE(rel <= 1e-4, "step ", s, ": loss ", loss, ", PyTorch ", want[s]);
  }
  std::printf("  10 steps   losses %.6f -> %.6f, worst rel err %.2e\n", want.front(), want.back(), worst);
}

}  // namespace

TEST_CASE("parity with PyTorch: ConvNet tower, hyper mode") { check_parity("tests/data/reference_convnet_hyper.safetensors"); }
TEST_CASE("parity with PyTorch: ConvNet tower, baseline mode") { check_parity("tests/data/reference_convnet_baseline.safetensors"); }
TEST_CASE("parity with PyTorch: ConvNet tower, hyper mode, only the last 4 norm layers generated") {
  check_parity("tests/data/reference_convnet_hyper_last4.safetensors");
}
TEST_CASE("parity with PyTorch: ViT tower, hyper mode") { check_parity("tests/data/reference_vit_hyper.safetensors"); }
TEST_CASE("parity with PyTorch: ViT tower, baseline mode") { check_parity("tests/data/reference_vit_baseline.safetensors"); }
TEST_CASE("parity with PyTorch: mci-nano and a Text-RepMixer, hyper mode, with the folded tower") {
  check_parity("tests/data/reference_mci_hyper.safetensors");
}
TEST_CASE("parity with PyTorch: mci-nano and a Text-RepMixer, baseline mode, with the folded tower") {
  check_parity("tests/data/reference_mci_baseline.safetensors");
}
TEST_CASE("parity with PyTorch: ViT tower, hyper mode, each set centred and scaled (--hyper-input center)") {
  check_parity("tests/data/reference_vit_hyper_center.safetensors");
}
