#include "models/config_io.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hc {

using json = nlohmann::json;

static json to_json(const ModelConfig& c) {
  json im = {{"kind", c.image.kind}, {"image_size", c.image.image_size}};
  if (c.image.kind == "convnet") {
    im["width"] = c.image.convnet.width;
    im["depth"] = c.image.convnet.depth;
  } else {
    im["dim"] = c.image.vit.dim;
    im["depth"] = c.image.vit.depth;
    im["heads"] = c.image.vit.heads;
    im["patch"] = c.image.vit.patch;
  }
  return {{"image", im},
          {"text", {{"dim", c.text.dim}, {"layers", c.text.layers}, {"heads", c.text.heads}, {"context", c.text.context}}},
          {"hyper", {{"dim", c.hyper.dim}, {"layers", c.hyper.layers}, {"heads", c.hyper.heads}, {"bottleneck", c.hyper.bottleneck}}},
          {"embed", c.embed},
          {"vocab", c.vocab},
          {"mode", mode_name(c.mode)},
          {"set_size", c.set_size},
          {"generated", c.generated},
          {"num_tokens", c.num_tokens},
          {"hyper_input", c.hyper_input},
          {"hyper_input_scale", c.hyper_input_scale}};
}

std::string config_to_json(const ModelConfig& cfg) { return to_json(cfg).dump(); }

ModelConfig config_from_json(const std::string& text, const std::string& source) {
  ModelConfig m;
  try {
    json c = json::parse(text);
    const json& im = c.at("image");
    m.image.kind = im.at("kind").get<std::string>();
    m.image.image_size = im.at("image_size").get<int64_t>();
    if (m.image.kind == "convnet") {
      m.image.convnet.width = im.at("width").get<double>();
      m.image.convnet.depth = im.at("depth").get<double>();
    } else if (m.image.kind == "vit") {
      m.image.vit = {im.at("dim").get<int64_t>(), im.at("depth").get<int64_t>(), im.at("heads").get<int64_t>(),
                     im.at("patch").get<int64_t>()};
    } else {
      throw Error("unknown image tower kind '" + m.image.kind + "'");
    }
    const json& t = c.at("text");
    m.text = {t.at("dim").get<int64_t>(), t.at("layers").get<int64_t>(), t.at("heads").get<int64_t>(),
              t.at("context").get<int64_t>()};
    const json& h = c.at("hyper");
    m.hyper = {h.at("dim").get<int64_t>(), h.at("layers").get<int64_t>(), h.at("heads").get<int64_t>(),
               h.at("bottleneck").get<int64_t>()};
    m.embed = c.at("embed").get<int64_t>();
    m.vocab = c.at("vocab").get<int64_t>();
    m.mode = parse_mode(c.at("mode").get<std::string>());
    m.set_size = c.value("set_size", int64_t{0});
    m.num_tokens = c.value("num_tokens", int64_t{16});
    m.generated = c.value("generated", std::string("all"));  // files written before the option: all
    m.hyper_input = c.value("hyper_input", std::string("raw"));  // files written before the options: raw, 1
    m.hyper_input_scale = c.value("hyper_input_scale", 1.0);
    HC_CHECK(m.hyper_input == "raw" || m.hyper_input == "center", "hyper_input '", m.hyper_input,
             "' (expected raw or center)");
    HC_CHECK(m.hyper_input_scale > 0 && std::isfinite(m.hyper_input_scale), "hyper_input_scale ",
             m.hyper_input_scale, " (expected a positive number)");
  } catch (const std::exception& e) {
    throw Error(cat(source, ": bad model configuration (", e.what(), ")"));
  }
  return m;
}

std::string config_differences(const ModelConfig& a, const ModelConfig& b) {
  json ja = to_json(a), jb = to_json(b);
  std::string out;
  json diff = json::diff(ja, jb);
  for (const json& d : diff) {
    std::string path = d.at("path").get<std::string>();
    json::json_pointer p(path);
    std::string va = ja.contains(p) ? ja.at(p).dump() : "(none)";
    std::string vb = jb.contains(p) ? jb.at(p).dump() : "(none)";
    if (!out.empty()) out += ", ";
    out += path.substr(1) + " " + va + " vs " + vb;
  }
  return out;
}

}  // namespace hc
