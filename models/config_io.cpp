#include "models/config_io.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include <climits>
#include <cmath>

#include "core/error.h"
#include "core/json_field.h"

namespace hc {

using json = nlohmann::json;

static json to_json(const ModelConfig& c) {
  json im = {{"kind", c.image.kind}, {"image_size", c.image.image_size}};
  if (c.image.kind == "convnet") {
    im["width"] = c.image.convnet.width;
    im["depth"] = c.image.convnet.depth;
  } else if (c.image.kind == "mci") {
    im["widths"] = c.image.mci.widths;
    im["depths"] = c.image.mci.depths;
    im["mlp_ratio"] = c.image.mci.mlp_ratio;
  } else {
    im["dim"] = c.image.vit.dim;
    im["depth"] = c.image.vit.depth;
    im["heads"] = c.image.vit.heads;
    im["patch"] = c.image.vit.patch;
  }
  return {{"image", im},
          {"text", {{"dim", c.text.dim}, {"layers", c.text.layers}, {"heads", c.text.heads}, {"context", c.text.context},
                    {"kind", c.text.kind}, {"causal", c.text.causal}}},
          {"hyper", {{"dim", c.hyper.dim}, {"layers", c.hyper.layers}, {"heads", c.hyper.heads}, {"bottleneck", c.hyper.bottleneck}}},
          {"embed", c.embed},
          {"vocab", c.vocab},
          {"mode", mode_name(c.mode)},
          {"set_size", c.set_size},
          {"generated", c.generated},
          {"num_tokens", c.num_tokens},
          {"hyper_input", c.hyper_input},
          {"hyper_input_scale", c.hyper_input_scale},
          {"set_loss", c.set_loss}};
}

std::string config_to_json(const ModelConfig& cfg) { return to_json(cfg).dump(); }

ModelConfig config_from_json(const std::string& text, const std::string& source, ModelParts parts,
                             int64_t file_elements) {
  json c;
  try {
    c = json::parse(text);
  } catch (const std::exception& e) {
    throw Error(cat(source, ": model configuration is not valid JSON (", e.what(), ")"));
  }
  // Integers are read over their whole type here; validate_config checks each against its range.
  const std::string what = source + ": model configuration";
  // obj[key] of the section ("image", or "" at the top level), named "image.key" in messages.
  auto integer = [&](const json& obj, const std::string& section, const char* key) {
    const std::string field = section.empty() ? key : section + "." + key;
    return json_int(json_at(obj, key, section.empty() ? what : what + ": " + section), INT64_MIN, INT64_MAX,
                    what + ": " + field);
  };
  auto optional_integer = [&](const char* key, int64_t fallback) {
    return c.contains(key) ? json_int(c[key], INT64_MIN, INT64_MAX, what + ": " + key) : fallback;
  };
  HC_CHECK(c.is_object(), what, " is not a JSON object");
  ModelConfig m;
  const json& im = json_at(c, "image", what);
  m.image.kind = json_string(json_at(im, "kind", what + ": image"), what + ": image.kind");
  m.image.image_size = integer(im, "image", "image_size");
  if (m.image.kind == "convnet") {
    m.image.convnet.width = json_number(json_at(im, "width", what + ": image"), -HUGE_VAL, HUGE_VAL, what + ": image.width");
    m.image.convnet.depth = json_number(json_at(im, "depth", what + ": image"), -HUGE_VAL, HUGE_VAL, what + ": image.depth");
  } else if (m.image.kind == "vit") {
    m.image.vit = {integer(im, "image", "dim"), integer(im, "image", "depth"),
                   integer(im, "image", "heads"), integer(im, "image", "patch")};
  } else if (m.image.kind == "mci") {
    // Four stages: the arrays' lengths are checked before any entry is read.
    auto four = [&](const char* key) {
      const json& a = json_at(im, key, what + ": image");
      HC_CHECK(a.is_array() && a.size() == 4, what, ": image.", key, " must list four stages: an array of four integers");
      std::vector<int64_t> v;
      for (size_t i = 0; i < 4; ++i) v.push_back(json_int(a[i], INT64_MIN, INT64_MAX, cat(what, ": image.", key, "[", i, "]")));
      return v;
    };
    m.image.mci.widths = four("widths");
    m.image.mci.depths = four("depths");
    m.image.mci.mlp_ratio = integer(im, "image", "mlp_ratio");
  } else {
    throw Error(cat(what, ": unknown image tower kind '", m.image.kind.substr(0, 40), "' (expected convnet, vit or mci)"));
  }
  const json& t = json_at(c, "text", what);
  m.text = {integer(t, "text", "dim"), integer(t, "text", "layers"), integer(t, "text", "heads"),
            integer(t, "text", "context")};
  // Files written before the Text-RepMixer: a causal transformer.
  m.text.kind = t.contains("kind") ? json_string(t["kind"], what + ": text.kind") : std::string("transformer");
  if (t.contains("causal")) {
    HC_CHECK(t["causal"].is_boolean(), what, ": text.causal must be true or false");
    m.text.causal = t["causal"].get<bool>();
  }
  const json& h = json_at(c, "hyper", what);
  m.hyper = {integer(h, "hyper", "dim"), integer(h, "hyper", "layers"), integer(h, "hyper", "heads"),
             integer(h, "hyper", "bottleneck")};
  m.embed = integer(c, "", "embed");
  m.vocab = integer(c, "", "vocab");
  try {
    m.mode = parse_mode(json_string(json_at(c, "mode", what), what + ": mode"));
  } catch (const Error& e) {
    throw Error(cat(what, ": ", e.what()));
  }
  m.set_size = optional_integer("set_size", 0);
  m.num_tokens = optional_integer("num_tokens", 16);
  // Files written before the option generate every layer.
  m.generated = c.contains("generated") ? json_string(c["generated"], what + ": generated") : std::string("all");
  // Files written before the hypernetwork input options: raw embeddings, scale 1.
  m.hyper_input = c.contains("hyper_input") ? json_string(c["hyper_input"], what + ": hyper_input") : std::string("raw");
  m.hyper_input_scale = c.contains("hyper_input_scale")
                            ? json_number(c["hyper_input_scale"], -HUGE_VAL, HUGE_VAL, what + ": hyper_input_scale")
                            : 1.0;
  // Files written before --set-loss: one loss over the whole batch.
  m.set_loss = c.contains("set_loss") ? json_string(c["set_loss"], what + ": set_loss") : std::string("batch");
  validate_config(m, source, parts, file_elements);
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
