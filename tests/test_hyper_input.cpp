// The hypernetwork's input option (train --hyper-input center, --hyper-input-scale; docs/hypernetwork.md):
// a float64 gradient check through the centred and scaled input, what centring and scaling promise,
// the default unchanged, the configuration round trip, and the traced forward pass.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/grad_mode.h"
#include "infer/conditioning.h"
#include "models/config_io.h"
#include "models/hyperclip.h"
#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

// The hypernetwork's forward with a centred, scaled input, built from the ops (one pre-norm step
// stands in for the blocks): set [S, m, E] -> minus the set mean -> times 2.5 -> input linear ->
// layer norm -> bottleneck -> mean over the set -> output linear.
static std::vector<OpCase> hyper_input_cases() {
  const int S = 2, m = 3, E = 4, H = 5, B = 3, P = 4;
  OpCase c;
  c.name = "pipeline/hypernet_center_scale_input";
  c.inputs = {
      param({S, m, E}, 2001),                                 // 0 the sets (gradient to the text tower)
      param({H, E}, 2002, 0.5),                               // 1 input weight
      param({H}, 2003, 0.1),                                  // 2 input bias
      uniform({H}, 2004, 0.5, 1.5).set_requires_grad(true),   // 3 norm γ
      param({H}, 2005, 0.1),                                  // 4 norm β
      param({B, H}, 2006, 0.5),                               // 5 bottleneck weight
      param({B}, 2007, 0.1),                                  // 6 bottleneck bias
      param({P, B}, 2008, 0.5),                               // 7 output weight
      param({P}, 2009, 0.1),                                  // 8 output bias
  };
  c.fn = [](const std::vector<Tensor>& in) {
    Tensor x = scale(sub(in[0], mean(in[0], {1}, true)), 2.5);
    x = gelu(linear(x, in[1], in[2]));
    x = linear(layer_norm(x, in[3], in[4]), in[5], in[6]);
    return linear(mean(x, {1}), in[7], in[8]);
  };
  c.cuda_bf16 = kBf16Chain;  // three products in a row take bf16-rounded inputs in bf16 mode
  return {c};
}
HC_REGISTER_OP_CASES(hyper_input_cases);

namespace {

ModelConfig nano(const std::string& input, double scale, hc::Mode mode = hc::Mode::Hyper) {
  ModelConfig c;
  c.image = image_preset("vit-nano");
  c.image.image_size = 32;
  c.text = text_preset("text-nano");
  c.hyper = hyper_preset("hyper-nano");
  c.mode = mode;
  c.embed = 128;
  c.vocab = 64;
  c.hyper_input = input;
  c.hyper_input_scale = scale;
  return c;
}

// A model whose hypernetwork output is not zero, so that its generated parameters say something.
std::unique_ptr<HyperClip> model(const ModelConfig& c) {
  auto m = std::make_unique<HyperClip>(c);
  m->init_parameters(3);
  NoGradGuard ng;
  Generator g(5);
  for (auto& [name, p] : m->named_parameters())
    if (name.rfind("hyper.output.", 0) == 0) fill_normal(p, g, 0.05);
  return m;
}

}  // namespace

TEST_CASE("hypernetwork input: centring ignores what a set's members share; the scale scales the input") {
  NoGradGuard ng;
  Tensor e = l2_normalize(randn({2, 6, 128}, 9).to(DType::F32));  // 2 sets of 6
  Tensor shift = randn({2, 1, 128}, 10, 0.3).to(DType::F32);      // one vector per set
  auto centred = model(nano("center", 1.0));
  std::vector<double> a = centred->hyper->forward(e).to_vector();
  std::vector<double> b = centred->hyper->forward(add(e, shift)).to_vector();
  CHECK(max_abs_diff(a, b) < 1e-5);
  auto raw = model(nano("raw", 1.0));
  CHECK(max_abs_diff(raw->hyper->forward(e).to_vector(), raw->hyper->forward(add(e, shift)).to_vector()) > 1e-3);
  // The same weights with --hyper-input-scale 3 compute what raw input times 3 gives.
  auto scaled = model(nano("raw", 3.0));
  CHECK(max_abs_diff(scaled->hyper->forward(e).to_vector(), raw->hyper->forward(scale(e, 3.0)).to_vector()) < 1e-5);
  // Centred sets still differ between sets: the output is not a constant.
  std::vector<double> c = centred->hyper->forward(slice(e, 0, 0, 1)).to_vector(),
                      d = centred->hyper->forward(slice(e, 0, 1, 2)).to_vector();
  CHECK(max_abs_diff(c, d) > 1e-4);
}

TEST_CASE("hypernetwork input: the default is SPEC 1.4's; old configurations load as raw, new ones round-trip") {
  ModelConfig c = nano("raw", 1.0);
  std::string json = config_to_json(c);
  CHECK(json.find("\"hyper_input\":\"raw\"") != std::string::npos);
  // A configuration written before the option (no fields) is the default.
  nlohmann::json old = nlohmann::json::parse(json);
  old.erase("hyper_input");
  old.erase("hyper_input_scale");
  ModelConfig o = config_from_json(old.dump(), "old.json");
  CHECK(o.hyper_input == "raw");
  CHECK(o.hyper_input_scale == 1.0);
  CHECK(config_differences(o, c).empty());
  ModelConfig n = config_from_json(config_to_json(nano("center", 4.0)), "new.json");
  CHECK(n.hyper_input == "center");
  CHECK(n.hyper_input_scale == 4.0);
  CHECK(config_differences(n, c) == "hyper_input \"center\" vs \"raw\", hyper_input_scale 4.0 vs 1.0");
  std::string bad = config_to_json(c);
  bad.replace(bad.find("\"raw\""), 5, "\"whiten\"");
  CHECK_THROWS_WITH_AS(config_from_json(bad, "bad.json"),
                       doctest::Contains("bad.json: model configuration: hyper_input = 'whiten', expected raw or center"),
                       Error);
  // A scale out of range is refused the same way (issue 24's one validation step).
  std::string zero = config_to_json(c);
  zero.replace(zero.find("\"hyper_input_scale\":1.0"), 23, "\"hyper_input_scale\":0.0");
  CHECK_THROWS_WITH_AS(config_from_json(zero, "zero.json"),
                       doctest::Contains("zero.json: model configuration: hyper_input_scale = 0 is outside (0, 1e6]"), Error);
  // With the default, the traced forward computes what the plain forward computes.
  auto m = model(c);
  NoGradGuard ng;
  Tensor e = l2_normalize(randn({3, 5, 128}, 11).to(DType::F32));
  HyperTrace trace;
  std::vector<double> traced = m->hyper->forward(e, &trace).to_vector();
  CHECK(max_abs_diff(traced, m->generate(reshape(e, {15, 128}), 5).to_vector()) == 0);
  std::vector<std::string> stages;
  for (auto& [s, t] : trace) stages.push_back(s);
  CHECK(stages == std::vector<std::string>{"input", "input_linear", "block0", "block1", "norm", "bottleneck", "set_mean", "output"});
  CHECK(max_abs_diff(trace.back().second.to_vector(), traced) == 0);
}

TEST_CASE("conditioning trace: within-set, across-set and common spread of a stage") {
  // Two sets of two members in 2 dims: set 0 = {(1, 0), (3, 0)}, set 1 = {(1, 2), (3, 2)}.
  Tensor x = Tensor::from_vector({1, 0, 3, 0, 1, 2, 3, 2}, {2, 2, 2}, DType::F64);
  std::vector<StageSpread> s = trace_spread({{"x", x}});
  REQUIRE(s.size() == 1);
  CHECK(s[0].rms == doctest::Approx(std::sqrt((1 + 9 + 1 + 4 + 9 + 4) / 8.0)));
  CHECK(s[0].within == doctest::Approx(1 / std::sqrt(2.0)));  // members ±1 from their set mean in dim 0
  CHECK(s[0].across == doctest::Approx(1 / std::sqrt(2.0)));  // set means (2, 0), (2, 2): ±1 in dim 1
  CHECK(s[0].common == doctest::Approx(std::sqrt((4 + 1) / 2.0)));  // overall mean (2, 1)
  // A [S, D] stage has no members: within is 0.
  std::vector<StageSpread> t = trace_spread({{"y", Tensor::from_vector({1, 1, 3, 1}, {2, 2}, DType::F64)}});
  CHECK(t[0].within == 0);
  CHECK(t[0].across == doctest::Approx(1 / std::sqrt(2.0)));
}
