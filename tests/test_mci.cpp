// MobileCLIP's towers (SPEC 2.1): parameter counts against SPEC's (the published MobileCLIP sizes),
// timm's parameter names, the generated-layer order, the Text-RepMixer and the causal switch.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <unistd.h>
#include <map>
#include <nlohmann/json.hpp>

#include "core/grad_mode.h"
#include "data/npy.h"
#include "models/config_io.h"
#include "models/hyperclip.h"
#include "models/mci.h"
#include "tests/cli_runner.h"
#include "tests/data_test_util.h"
#include "tests/op_registry.h"

using namespace hc;

namespace {

ModelConfig mci_config(const std::string& image, const std::string& text, Mode mode, int64_t embed, int64_t vocab) {
  ModelConfig c;
  c.image = image_preset(image);
  c.text = text_preset(text);
  c.hyper = hyper_preset("hyper-nano");
  c.mode = mode;
  c.embed = embed;
  c.vocab = vocab;
  return c;
}

std::map<std::string, Shape> shapes(const Module& m) {
  std::map<std::string, Shape> out;
  for (auto& [name, t] : m.state_dict()) out[name] = t.shape();
  return out;
}

}  // namespace

// A RepMixer token mixer and a MobileOne-SE tail built from the ops, with all four of its batch
// norms generated per set: gradients reach the input, every branch's kernel, the generated values,
// γ0, β0 and the layer scale (float64 finite differences, the op registry).
static std::vector<test::OpCase> mobileone_pipeline_cases() {
  using namespace test;
  const int64_t N = 4, C = 3, S = 2, P = 2 * C * 4;
  Tensor sets0 = Tensor::from_ints({0, 1, 1, 0}, {N});
  OpCase c;
  c.name = "pipeline/repmixer_mobileone_se_generated_bn";
  c.inputs = {param({N, C, 5, 5}, 2100),                                 // 0 x
              param({C, 1, 3, 3}, 2101, 0.4),                            // 1 mixer k×k kernel
              param({C, 1, 1, 1}, 2102, 0.4),                            // 2 mixer 1×1 kernel
              param({S, P}, 2103, 0.2),                                  // 3 generated [dγ, dβ] × 4 BNs
              uniform({4, C}, 2104, 0.5, 1.5).set_requires_grad(true),  // 4 γ0 of the 4 BNs
              param({4, C}, 2105, 0.1),                                  // 5 β0
              uniform({C, 1, 1}, 2106, 0.2, 0.8).set_requires_grad(true),  // 6 layer scale
              param({2, C}, 2107, 0.5),                                  // 7 SE fc1
              param({C, 2}, 2108, 0.5)};                                 // 8 SE fc2
  c.fn = [=](const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    Tensor sets = as_like(sets0, x);
    auto bn = [&](const Tensor& v, int64_t l) {  // BN l of 4 with its generated offsets
      Tensor g = add(reshape(slice(in[4], 0, l, l + 1), {C}), slice(in[3], 1, 2 * C * l, 2 * C * l + C));
      Tensor b = add(reshape(slice(in[5], 0, l, l + 1), {C}), slice(in[3], 1, 2 * C * l + C, 2 * C * (l + 1)));
      Tensor rm = as_like(Tensor::zeros({C}, DType::F64), x), rv = as_like(Tensor::ones({C}, DType::F64), x);
      return batch_norm(v, g, b, rm, rv, true, 0.1, 1e-5, sets);
    };
    Tensor mixer = add(add(bn(conv2d(x, in[1], Tensor(), 1, 1, C), 1), bn(conv2d(x, in[2], Tensor(), 1, 0, C), 2)), bn(x, 3));
    Tensor y = add(x, mul(in[6], sub(mixer, bn(x, 0))));
    Tensor s = sigmoid(linear(relu(linear(global_avg_pool(y), in[7])), in[8]));
    return gelu(mul(y, reshape(s, {N, C, 1, 1})));
  };
  c.cuda_bf16 = kBf16Chain;  // dense and 1×1 convolutions in a row take bf16-rounded inputs in bf16 mode
  return {c};
}
HC_REGISTER_OP_CASES(mobileone_pipeline_cases);

TEST_CASE("MCi and Text-RepMixer parameter counts are SPEC 2.1's") {
  struct Row {
    const char *image, *text;
    int64_t embed, vocab, image_params, text_params;
  };
  // E 512 and the 49408-token vocabulary: MobileCLIP-S0 (mci0 + text-mct), S1 and S2 (mci1 / mci2
  // + a non-causal text-base); mci-nano with E 128.
  const Row rows[] = {{"mci0", "text-mct", 512, 49408, 11406464, 42441216},
                      {"mci1", "text-base", 512, 49408, 21541120, 63428096},
                      {"mci2", "text-base", 512, 49408, 35814720, 63428096},
                      {"mci-nano", "text-nano", 128, 8192, 706584, -1}};
  for (const Row& r : rows) {
    CAPTURE(r.image);
    ParamCounts c = count_parameters(mci_config(r.image, r.text, Mode::Baseline, r.embed, r.vocab));
    CHECK(c.image == r.image_params);
    if (r.text_params > 0) CHECK(c.text == r.text_params);
  }
  CHECK(text_preset("text-mct").causal == false);
  CHECK(text_preset("text-mct").kind == "mct");
  CHECK(text_preset("text-base").causal == true);
}

TEST_CASE("cli: params prints SPEC 2.1's counts for the MCi presets and text-mct") {
  struct Row {
    std::string args;
    int64_t image, text;
  };
  const Row rows[] = {
      {"--image mci0 --text text-mct --vocab 49408 --embed 512", 11406464, 42441216},
      {"--image mci1 --text text-base --text-causal no --vocab 49408 --embed 512", 21541120, 63428096},
      {"--image mci2 --text text-base --text-causal no --vocab 49408 --embed 512", 35814720, 63428096},
      {"--image mci-nano --text text-nano", 706584, -1},
  };
  for (const Row& r : rows) {
    CAPTURE(r.args);
    hc_test::RunResult res = hc_test::run_cli("params " + r.args + " --hyper none");
    REQUIRE(res.status == 0);
    nlohmann::json j = nlohmann::json::parse(res.out);
    CHECK(j["image"].get<int64_t>() == r.image);
    if (r.text > 0) CHECK(j["text"].get<int64_t>() == r.text);
    CHECK(j["total"].get<int64_t>() == j["image"].get<int64_t>() + j["text"].get<int64_t>() + 2);
  }
  hc_test::RunResult bad = hc_test::run_cli("params --image mci0 --text text-mct --hyper none --text-causal maybe");
  CHECK(bad.status != 0);
  CHECK(bad.out.find("--text-causal expects yes or no") != std::string::npos);
}

TEST_CASE("MCi state-dict names are timm's fastvit_mci names") {
  HyperClip m(mci_config("mci-nano", "text-mct", Mode::Hyper, 128, 512));
  std::map<std::string, Shape> s = shapes(m);
  auto has = [&](const std::string& n) { return s.count(n) > 0; };
  const std::pair<const char*, Shape> expected[] = {
      {"visual.stem.0.conv_kxk.0.conv.weight", {24, 3, 3, 3}},
      {"visual.stem.0.conv_scale.conv.weight", {24, 3, 1, 1}},
      {"visual.stem.0.conv_scale.bn.running_var", {24}},
      {"visual.stem.1.conv_kxk.0.conv.weight", {24, 1, 3, 3}},
      {"visual.stem.2.identity.weight", {24}},
      {"visual.stem.2.conv_kxk.0.conv.weight", {24, 24, 1, 1}},
      {"visual.stages.0.blocks.0.token_mixer.norm.identity.bias", {24}},
      {"visual.stages.0.blocks.0.token_mixer.mixer.identity.running_mean", {24}},
      {"visual.stages.0.blocks.0.token_mixer.mixer.conv_kxk.0.conv.weight", {24, 1, 3, 3}},
      {"visual.stages.0.blocks.0.token_mixer.mixer.conv_scale.conv.weight", {24, 1, 1, 1}},
      {"visual.stages.0.blocks.0.token_mixer.layer_scale.gamma", {24, 1, 1}},
      {"visual.stages.0.blocks.0.mlp.conv.conv.weight", {24, 1, 7, 7}},
      {"visual.stages.0.blocks.0.mlp.conv.bn.weight", {24}},
      {"visual.stages.0.blocks.0.mlp.fc1.weight", {72, 24, 1, 1}},
      {"visual.stages.0.blocks.0.mlp.fc2.bias", {24}},
      {"visual.stages.0.blocks.0.layer_scale.gamma", {24, 1, 1}},
      {"visual.stages.1.downsample.proj.0.large_conv.conv.weight", {48, 1, 7, 7}},
      {"visual.stages.1.downsample.proj.0.small_conv.conv.weight", {48, 1, 3, 3}},
      {"visual.stages.1.downsample.proj.1.identity.weight", {48}},
      {"visual.stages.1.downsample.proj.1.conv_kxk.0.conv.weight", {48, 48, 1, 1}},
      {"visual.stages.2.downsample.proj.0.se.fc1.weight", {24, 96, 1, 1}},
      {"visual.stages.3.downsample.proj.0.se.fc2.bias", {192}},
      {"visual.stages.3.pos_emb.pos_enc.weight", {192, 1, 7, 7}},
      {"visual.stages.3.pos_emb.pos_enc.bias", {192}},
      {"visual.stages.3.blocks.0.norm.running_var", {192}},
      {"visual.stages.3.blocks.0.token_mixer.qkv.weight", {576, 192}},
      {"visual.stages.3.blocks.0.token_mixer.proj.bias", {192}},
      {"visual.stages.3.blocks.0.layer_scale_1.gamma", {192, 1, 1}},
      {"visual.stages.3.blocks.0.layer_scale_2.gamma", {192, 1, 1}},
      {"visual.final_conv.conv_kxk.0.conv.weight", {384, 1, 3, 3}},
      {"visual.final_conv.conv_scale.conv.weight", {384, 1, 1, 1}},
      {"visual.final_conv.se.fc1.weight", {24, 384, 1, 1}},
      {"visual.head.fc.weight", {128, 384}},
      // Text-RepMixer: blocks 0 and 5 around the four transformer blocks, 1×11 kernels.
      {"text.blocks.0.token_mixer.mixer.conv_kxk.0.conv.weight", {512, 1, 1, 11}},
      {"text.blocks.0.token_mixer.norm.identity.weight", {512}},
      {"text.blocks.0.mlp.conv.conv.weight", {512, 1, 1, 11}},
      {"text.blocks.0.mlp.fc1.weight", {2048, 512, 1, 1}},
      {"text.blocks.5.layer_scale.gamma", {512, 1, 1}},
      {"text.blocks.1.attn.qkv.weight", {1536, 512}},
      {"text.blocks.4.mlp.fc2.weight", {512, 2048}},
  };
  for (auto& [name, shape] : expected) {
    CAPTURE(name);
    REQUIRE(has(name));
    CHECK(s[name] == shape);
  }
  for (const char* absent : {"visual.stem.0.identity.weight", "visual.stem.1.identity.weight", "visual.stem.2.conv_scale.conv.weight",
                             "visual.stages.0.downsample.proj.0.large_conv.conv.weight",
                             "visual.stages.1.downsample.proj.0.se.fc1.weight", "visual.stages.3.blocks.0.token_mixer.qkv.bias",
                             "visual.final_conv.identity.weight", "visual.head.fc.bias",
                             "text.blocks.0.token_mixer.mixer.conv_scale.conv.weight", "text.blocks.6.mlp.fc1.weight"}) {
    CAPTURE(absent);
    CHECK_FALSE(has(absent));
  }
}

TEST_CASE("MCi: the hypernetwork generates every BN, branch by branch, in module order") {
  ModelConfig cfg = mci_config("mci-nano", "text-nano", Mode::Hyper, 128, 8192);
  HyperClip m(cfg);
  // The batch norms in state-dict order, named by their running_mean buffer.
  std::vector<std::string> bn_names;
  for (auto& [name, t] : m.visual->named_buffers())
    if (name.size() > 13 && name.compare(name.size() - 13, 13, ".running_mean") == 0)
      bn_names.push_back(name.substr(0, name.size() - 13));
  std::vector<GeneratedNorm*> norms = m.visual->generated_norms();
  REQUIRE(norms.size() == bn_names.size());
  // Stem 6, RepMixer blocks 5 each (4 stage blocks), downsamples 4 each (3), attention block 2, head 2.
  CHECK(norms.size() == 6 + 5 * 4 + 4 * 3 + 2 + 2);
  const std::vector<std::string> first = {"stem.0.conv_kxk.0.bn", "stem.0.conv_scale.bn", "stem.1.conv_kxk.0.bn",
                                          "stem.1.conv_scale.bn", "stem.2.identity", "stem.2.conv_kxk.0.bn",
                                          "stages.0.blocks.0.token_mixer.norm.identity",
                                          "stages.0.blocks.0.token_mixer.mixer.identity",
                                          "stages.0.blocks.0.token_mixer.mixer.conv_kxk.0.bn",
                                          "stages.0.blocks.0.token_mixer.mixer.conv_scale.bn",
                                          "stages.0.blocks.0.mlp.conv.bn",
                                          "stages.1.downsample.proj.0.large_conv.bn",
                                          "stages.1.downsample.proj.0.small_conv.bn",
                                          "stages.1.downsample.proj.1.identity",
                                          "stages.1.downsample.proj.1.conv_kxk.0.bn"};
  for (size_t i = 0; i < first.size(); ++i) CHECK(bn_names[i] == first[i]);
  CHECK(bn_names[bn_names.size() - 4] == "stages.3.blocks.0.norm");
  CHECK(bn_names.back() == "final_conv.conv_scale.bn");
  // Laid out one after the other, P = 2 × their channels.
  int64_t p = 0;
  for (GeneratedNorm* n : norms) {
    CHECK(n->offset == p);
    p += 2 * n->channels;
  }
  CHECK(m.generated_size() == p);
  // A subset: the last 2 are the head's two branch BNs.
  cfg.generated = "last:2";
  HyperClip sub(cfg);
  CHECK(sub.generated_size() == 2 * (384 + 384));
}

TEST_CASE("MCi and text-mct configurations round-trip through JSON") {
  ModelConfig cfg = mci_config("mci-nano", "text-mct", Mode::Hyper, 128, 300);
  ModelConfig back = config_from_json(config_to_json(cfg), "test");
  CHECK(config_differences(cfg, back).empty());
  CHECK(back.image.kind == "mci");
  CHECK(back.image.mci.widths == std::vector<int64_t>{24, 48, 96, 192});
  CHECK(back.text.kind == "mct");
  CHECK_FALSE(back.text.causal);
  CHECK_THROWS_WITH_AS(config_from_json(R"({"image": {"kind": "mci", "widths": [1, 2], "depths": [1, 1], "mlp_ratio": 3,
      "image_size": 64}, "text": {"dim": 8, "layers": 1, "heads": 1, "context": 4}, "hyper": {"dim": 8, "layers": 1,
      "heads": 1, "bottleneck": 4}, "embed": 8, "vocab": 16, "mode": "hyper"})", "bad.json"),
                       doctest::Contains("four stages"), Error);
}

TEST_CASE("text towers: the causal switch") {
  // A one-layer transformer text tower: causal, the end-of-text feature ignores the tokens after it;
  // not causal (MobileCLIP's towers), it sees the whole padded sequence.
  for (bool causal : {true, false}) {
    CAPTURE(causal);
    ModelConfig cfg;
    cfg.image = image_preset("mci-nano");
    cfg.text = {32, 1, 2, 8, "transformer", causal};
    cfg.mode = Mode::Baseline;
    cfg.embed = 16;
    cfg.vocab = 40;
    HyperClip m(cfg);
    m.init_parameters(1);
    NoGradGuard ng;
    Tensor eot = Tensor::from_ints({3}, {1});
    Tensor a = m.text->forward(Tensor::from_ints({38, 5, 6, 39, 0, 0, 0, 0}, {1, 8}), eot);
    Tensor b = m.text->forward(Tensor::from_ints({38, 5, 6, 39, 7, 8, 9, 10}, {1, 8}), eot);
    CHECK((test::max_abs_diff(a.to_vector(), b.to_vector()) == 0) == causal);
  }
}

TEST_CASE("cli: mci-nano trains in baseline, hyper and token modes, exports folded and classifies") {
  std::string root = "/tmp/hyperclip_mci_cli_" + std::to_string(::getpid());
  std::system(("rm -rf " + root + " && mkdir -p " + root).c_str());
  const std::string common =
      "train --image mci-nano --image-size 32 --text text-nano --context 16 --data synthetic --synthetic-size 64 "
      "--batch 8 --steps 3 --lr 1e-3 --threads 2 --workers 1 --log-every 1 ";
  for (const char* mode : {"baseline", "hyper", "token"}) {
    CAPTURE(mode);
    std::string hyper = std::string(mode) == "baseline" ? "--hyper none " : std::string("--hyper hyper-nano --mode ") + mode + " ";
    // The hyper run generates only the last 6 BNs and uses a non-causal text tower.
    std::string extra = std::string(mode) == "hyper" ? "--generated-layers last:6 --text-causal no " : "";
    hc_test::RunResult r = hc_test::run_cli(common + hyper + extra + "--out " + root + "/" + mode);
    REQUIRE_MESSAGE(r.status == 0, r.out);
    std::ifstream in(root + "/" + mode + "/metrics.jsonl");
    int steps = 0;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line);
      if (!j.contains("loss")) continue;
      CHECK(std::isfinite(j["loss"].get<double>()));
      ++steps;
    }
    CHECK(steps == 3);
  }
  // The HyperCLIP run exported: a folded classifier, and an image encoder that embeds as the
  // checkpoint does (the branch form in evaluation mode).
  std::string ck = root + "/hyper/last.safetensors";
  std::ofstream(root + "/classes.txt") << "red circle\nblue square\ngreen triangle\n";
  hc_test::RunResult r = hc_test::run_cli("export --ckpt " + ck + " --classes " + root + "/classes.txt -o " + root + "/clf.safetensors");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(nlohmann::json::parse(r.out)["folded_batch_norms"].get<bool>());
  REQUIRE(hc_test::run_cli("export --ckpt " + ck + " --image-only -o " + root + "/img.safetensors").status == 0);
  std::system(("mkdir -p " + root + "/imgs/pattern").c_str());  // folder: one class folder
  for (int k = 0; k < 5; ++k)
    hc_test::write_file(root + "/imgs/pattern/" + std::to_string(k) + ".png", hc_test::encode_png(hc_test::pattern_image(40, 36, k)));
  REQUIRE(hc_test::run_cli("embed --model " + root + "/img.safetensors --images folder:" + root + "/imgs -o " + root +
                           "/a.npy").status == 0);
  REQUIRE(hc_test::run_cli("embed --ckpt " + ck + " --images folder:" + root + "/imgs -o " + root + "/b.npy").status == 0);
  CHECK(read_npy(root + "/a.npy").size(0) == 5);
  CHECK(test::max_abs_diff(read_npy(root + "/a.npy").to_vector(), read_npy(root + "/b.npy").to_vector()) < 1e-5);
  std::system(("rm -rf " + root).c_str());
}
