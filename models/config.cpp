#include "models/config.h"

#include "core/error.h"

namespace hc {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Baseline: return "baseline";
    case Mode::Hyper: return "hyper";
    case Mode::Token: return "token";
  }
  return "?";
}

Mode parse_mode(const std::string& s) {
  if (s == "baseline") return Mode::Baseline;
  if (s == "hyper") return Mode::Hyper;
  if (s == "token") return Mode::Token;
  throw Error("unknown mode '" + s + "' (expected baseline, hyper or token)");
}

static std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::vector<std::string> image_preset_names() {
  return {"convnet-b0", "convnet-nano", "vit-b16", "vit-nano", "mci0", "mci1", "mci2", "mci-nano"};
}
std::vector<std::string> text_preset_names() { return {"text-base", "text-nano", "text-mct"}; }
std::vector<std::string> hyper_preset_names() { return {"hyper-base", "hyper-nano"}; }

ImageConfig image_preset(const std::string& name) {
  ImageConfig c;
  if (name == "convnet-b0") {
    c.kind = "convnet";
    c.convnet = {1.0, 1.0};
    c.image_size = 224;
  } else if (name == "convnet-nano") {
    c.kind = "convnet";
    c.convnet = {0.5, 0.5};
    c.image_size = 64;
  } else if (name == "vit-b16") {
    c.kind = "vit";
    c.vit = {768, 12, 12, 16};
    c.image_size = 224;
  } else if (name == "vit-nano") {
    c.kind = "vit";
    c.vit = {192, 6, 3, 8};
    c.image_size = 64;
  } else if (name == "mci0" || name == "mci1" || name == "mci2" || name == "mci-nano") {
    // SPEC 2.1: apple/ml-mobileclip's mci0/1/2 (timm's fastvit_mci0/1/2), and a nano tower.
    c.kind = "mci";
    c.image_size = 256;
    if (name == "mci0") c.mci = {{64, 128, 256, 512}, {2, 6, 10, 2}, 3};
    if (name == "mci1") c.mci = {{64, 128, 256, 512}, {4, 12, 20, 4}, 3};
    if (name == "mci2") c.mci = {{80, 160, 320, 640}, {4, 12, 24, 4}, 3};
    if (name == "mci-nano") {
      c.mci = {{24, 48, 96, 192}, {1, 1, 2, 1}, 3};
      c.image_size = 64;
    }
  } else {
    throw Error("unknown image preset '" + name + "' (known: " + join(image_preset_names()) + ")");
  }
  return c;
}

TextConfig text_preset(const std::string& name) {
  if (name == "text-base") return {512, 12, 8, 77};
  if (name == "text-nano") return {256, 4, 4, 32};
  if (name == "text-mct") return {512, 4, 8, 77, "mct", false};
  throw Error("unknown text preset '" + name + "' (known: " + join(text_preset_names()) + ")");
}

HyperConfig hyper_preset(const std::string& name) {
  if (name == "hyper-base") return {512, 2, 8, 256};
  if (name == "hyper-nano") return {128, 2, 4, 64};
  throw Error("unknown hypernetwork preset '" + name + "' (known: " + join(hyper_preset_names()) +
              ")");
}

}  // namespace hc
