// validate_config (models/config_check.h): the ranges, the consistency rules, and the size of the
// model computed from the configuration alone, which must equal the built model's state dict for
// every tower kind, mode and generated-layer selection (the size check rests on it).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "core/random.h"
#include "models/config_check.h"
#include "models/config_io.h"
#include "models/convnet.h"
#include "models/hyperclip.h"
#include "models/mci.h"
#include "models/vit.h"

using namespace hc;

namespace {

int64_t state_elements(const Module& m) {
  int64_t n = 0;
  for (auto& [name, t] : m.state_dict()) n += t.numel();
  return n;
}

ModelConfig small(const std::string& kind, Mode mode) {
  ModelConfig c;
  c.image.kind = kind;
  c.image.image_size = 16;
  c.image.convnet = {0.25, 0.3};
  c.image.vit = {16, 2, 4, 4};
  c.image.mci = {{8, 16, 16, 32}, {1, 2, 1, 1}, 2};
  c.text = {16, 1, 2, 5};
  c.hyper = {12, 1, 3, 6};
  c.embed = 8;
  c.vocab = 300;
  c.mode = mode;
  c.num_tokens = 3;
  return c;
}

void check_sizes(const ModelConfig& c) {
  CAPTURE(config_to_json(c));
  validate_config(c, "test");
  CHECK(state_size(c, ModelParts::Full).total == static_cast<double>(state_elements(HyperClip(c))));
  // An exported text encoder holds a Text-RepMixer folded; an exported MCi or ConvNet tower is folded.
  CHECK(state_size(c, ModelParts::TextTower).total ==
        static_cast<double>(state_elements(TextTower(c.text, c.vocab, c.embed, true))));
  const double folded =
      c.image.kind == "convnet" ? static_cast<double>(state_elements(ConvNetTower(c.image.convnet, c.embed, true)))
      : c.image.kind == "mci"   ? static_cast<double>(state_elements(MciTower(c.image.mci, c.embed, true)))
                                : static_cast<double>(state_elements(VitTower(c.image.vit, c.image.image_size, c.embed)));
  CHECK(state_size(c, ModelParts::Classifier).total == folded + 2);
}

}  // namespace

TEST_CASE("config check: the size from the configuration equals the built model's, for every kind") {
  for (const char* kind : {"convnet", "vit", "mci"})
    for (Mode mode : {Mode::Baseline, Mode::Hyper, Mode::Token})
      for (const char* generated : {"all", "first:2", "last:3"}) {
        ModelConfig c = small(kind, mode);
        c.generated = generated;
        check_sizes(c);
      }
  // The presets, and random multipliers that exercise SPEC 1.1's channel rounding and repeats.
  ModelConfig p = small("convnet", Mode::Hyper);
  p.image = image_preset("convnet-nano");
  p.text = text_preset("text-nano");
  p.hyper = hyper_preset("hyper-nano");
  check_sizes(p);
  p.image = image_preset("vit-nano");
  check_sizes(p);
  p.image = image_preset("mci-nano");
  check_sizes(p);
  // The Text-RepMixer (text-mct shaped, small), causal or not, beside each image tower.
  for (const char* kind : {"convnet", "vit", "mci"}) {
    ModelConfig c = small(kind, Mode::Hyper);
    c.text.kind = "mct";
    c.text.causal = false;
    check_sizes(c);
  }
  Generator g(5);
  for (int i = 0; i < 12; ++i) {
    ModelConfig c = small("convnet", i % 2 ? Mode::Hyper : Mode::Baseline);
    c.image.convnet = {0.05 + 0.6 * g.uniform(), 0.05 + 0.6 * g.uniform()};
    check_sizes(c);
  }
}

TEST_CASE("config check: every field's range and the rules between fields, with the field named") {
  auto refuses = [](const std::function<void(ModelConfig&)>& edit, const std::string& needle) {
    ModelConfig c = small("vit", Mode::Hyper);
    edit(c);
    CAPTURE(needle);
    CHECK_THROWS_WITH_AS(validate_config(c, "f.safetensors"), doctest::Contains(("f.safetensors: model configuration: " + needle).c_str()),
                         Error);
  };
  refuses([](ModelConfig& c) { c.image.vit.patch = 0; }, "image.patch = 0 is outside [1, 16]");
  refuses([](ModelConfig& c) { c.image.vit.patch = 3; }, "image.image_size = 16 is not a multiple of image.patch = 3");
  refuses([](ModelConfig& c) { c.image.vit.heads = 0; }, "image.heads = 0 is outside [1, 16]");
  refuses([](ModelConfig& c) { c.image.vit.heads = 5; }, "image.heads = 5 does not divide the width 16");
  refuses([](ModelConfig& c) { c.text.heads = 0; }, "text.heads = 0");
  refuses([](ModelConfig& c) { c.hyper.heads = 0; }, "hyper.heads = 0");
  refuses([](ModelConfig& c) { c.text.context = 1; }, "text.context = 1 is outside [2, 4096]");
  refuses([](ModelConfig& c) { c.image.image_size = 4096; }, "image.image_size = 4096 is outside [1, 1024]");
  refuses([](ModelConfig& c) {
    c.image.image_size = 1024;
    c.image.vit.patch = 4;
  }, "image.image_size / image.patch = 256 gives 65536 patches, more than 4096");
  refuses([](ModelConfig& c) { c.vocab = 0; }, "vocab = 0 is outside");
  refuses([](ModelConfig& c) { c.embed = 70000; }, "embed = 70000 is outside [1, 65536]");
  refuses([](ModelConfig& c) { c.image.kind = "resnet"; }, "image.kind = 'resnet'");
  refuses([](ModelConfig& c) { c.generated = "last:99"; }, "generated layers 'last:99': N must be between 1 and 5");
  refuses([](ModelConfig& c) { c.generated = "middle"; }, "generated layers 'middle'");
  refuses([](ModelConfig& c) {
    c.image.kind = "convnet";
    c.image.convnet.width = 0;
  }, "image.width = 0 is outside (0, 16]");
  refuses([](ModelConfig& c) {
    c.image.kind = "convnet";
    c.image.convnet.depth = std::nan("");
  }, "image.depth = nan is outside");
  auto mci = [](const std::function<void(ModelConfig&)>& edit) {
    return [edit](ModelConfig& c) {
      c.image.kind = "mci";
      edit(c);
    };
  };
  refuses(mci([](ModelConfig& c) { c.image.mci.widths = {8, 16, 16}; }), "an mci tower has four stages");
  refuses(mci([](ModelConfig& c) { c.image.mci.widths[1] = 0; }), "image.widths[1] = 0 is outside [1, 65536]");
  refuses(mci([](ModelConfig& c) { c.image.mci.depths[2] = 5000; }), "image.depths[2] = 5000 is outside [0, 1024]");
  refuses(mci([](ModelConfig& c) { c.image.mci.widths[3] = 48; }), "image.widths[3] = 48 is not a multiple of");
  // Found by fuzz_config: a downsampling conv grouped by 7 input channels cannot make 8.
  refuses(mci([](ModelConfig& c) { c.image.mci.widths = {7, 8, 8, 32}; }),
          "image.widths[1] = 8 is not a multiple of image.widths[0] = 7");
  refuses(mci([](ModelConfig& c) { c.image.mci.mlp_ratio = 0; }), "image.mlp_ratio = 0 is outside [1, 16]");
  refuses([](ModelConfig& c) { c.text.kind = "lstm"; }, "text.kind = 'lstm', expected transformer or mct");
  // An MCi tower as wide and deep as the ranges allow is refused by its size, before anything is built.
  {
    ModelConfig huge = small("mci", Mode::Hyper);
    huge.image.mci = {{65536, 65536, 65536, 65536}, {1024, 1024, 1024, 1024}, 4};
    CHECK_THROWS_WITH_AS(validate_config(huge, "training options"), doctest::Contains("more than the limit"), Error);
  }
  // The size against the file: one element short is refused, the exact count accepted.
  ModelConfig c = small("vit", Mode::Token);
  const int64_t need = static_cast<int64_t>(state_size(c).total);
  validate_config(c, "f", ModelParts::Full, need);
  CHECK_THROWS_WITH_AS(validate_config(c, "f", ModelParts::Full, need - 1),
                       doctest::Contains(cat("describes ", need, " tensor elements").c_str()), Error);
  // Without a file (training options) the cap is 2^36 elements.
  c.text.dim = 65536;
  c.vocab = 1 << 24;
  CHECK_THROWS_WITH_AS(validate_config(c, "training options"), doctest::Contains("more than the limit"), Error);
}
