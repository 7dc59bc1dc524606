#include "train/checkpoint.h"

#include <nlohmann/json.hpp>

#include "core/grad_mode.h"
#include "core/json_field.h"
#include "data/safetensors.h"
#include "models/config_io.h"

namespace hc {

static const char* kFormat = "hyperclip-checkpoint";
static const char* kVersion = "1";

void save_checkpoint(const std::string& path, const HyperClip& model, const Tokenizer& tok,
                     const AdamW* opt, const TrainState& state) {
  std::vector<std::pair<std::string, Tensor>> tensors = model.state_dict();
  const AdamW* o = opt;
  if (o) {
    for (const auto& s : o->slots()) {
      tensors.emplace_back("optimizer.exp_avg." + s.name, s.m);
      tensors.emplace_back("optimizer.exp_avg_sq." + s.name, s.v);
    }
  }
  nlohmann::json st = {{"step", state.step},
                       {"total_steps", state.total_steps},
                       {"optimizer_steps", o ? o->steps() : 0},
                       {"args", nlohmann::json::parse(state.args_json)}};
  write_safetensors(path, tensors,
                    {{"format", kFormat},
                     {"version", kVersion},
                     {"model", config_to_json(model.config())},
                     {"tokenizer", tok.to_string()},
                     {"train", st.dump()}});
}

template <class File>  // SafeTensors or SafeTensorsHeader
static void check_format(const File& st) {
  auto f = st.metadata.find("format");
  HC_CHECK(f != st.metadata.end() && f->second == kFormat, st.path,
           ": not a hyperclip checkpoint (metadata format is '",
           f == st.metadata.end() ? std::string("missing") : f->second, "')");
  auto v = st.metadata.find("version");
  HC_CHECK(v != st.metadata.end() && v->second == kVersion, st.path, ": checkpoint version '",
           v == st.metadata.end() ? std::string("missing") : v->second, "', this build reads version ", kVersion);
  for (const char* k : {"model", "tokenizer", "train"})
    HC_CHECK(st.metadata.count(k), st.path, ": checkpoint metadata lacks '", k, "'");
}

// The metadata's "train" record: steps as checked integers.
static nlohmann::json train_record(const std::string& path, const std::string& text) {
  nlohmann::json t;
  try {
    t = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(cat(path, ": bad training state in checkpoint (", e.what(), ")"));
  }
  HC_CHECK(t.is_object(), path, ": bad training state in checkpoint (not a JSON object)");
  return t;
}

Checkpoint read_checkpoint_info(const std::string& path) {
  // The header alone: the configuration is checked against the tensors the file holds before
  // anything of the size it describes is allocated.
  SafeTensorsHeader st = read_safetensors_header(path);
  check_format(st);
  Checkpoint c;
  c.path = path;
  c.config = config_from_json(st.metadata.at("model"), path, ModelParts::Full, st.total_elements());
  c.tokenizer = Tokenizer::from_string(st.metadata.at("tokenizer"), path + " (tokenizer)");
  HC_CHECK(c.tokenizer.vocab_size() <= c.config.vocab, path, ": the tokenizer has ", c.tokenizer.vocab_size(),
           " tokens, more than the model configuration's vocab of ", c.config.vocab);
  nlohmann::json t = train_record(path, st.metadata.at("train"));
  const std::string what = path + ": training state";
  c.state.step = json_int(json_at(t, "step", what), 0, INT64_MAX, what + ": step");
  c.state.total_steps = t.contains("total_steps") ? json_int(t["total_steps"], 0, INT64_MAX, what + ": total_steps") : 0;
  c.state.args_json = t.contains("args") ? t["args"].dump() : "{}";
  return c;
}

void load_checkpoint_weights(const std::string& path, HyperClip& model, AdamW* opt) {
  SafeTensors st = read_safetensors(path);
  check_format(st);
  ModelConfig saved = config_from_json(st.metadata.at("model"), path, ModelParts::Full, st.total_elements());
  std::string diff = config_differences(saved, model.config());
  HC_CHECK(diff.empty(), path, ": checkpoint of another model configuration (checkpoint vs requested: ", diff, ")");
  NoGradGuard ng;
  for (auto& [name, t] : model.state_dict()) {
    HC_CHECK(st.has(name), path, ": missing tensor '", name, "'");
    const Tensor& src = st.get(name);
    HC_CHECK(src.shape() == t.shape(), path, ": tensor '", name, "' is ", src.desc(), ", the model expects ",
             shape_str(t.shape()));
    t.copy_(src.to(t.device()));
  }
  if (!opt) return;
  nlohmann::json tr = train_record(path, st.metadata.at("train"));
  for (auto& s : opt->slots()) {
    for (auto [prefix, dst] : {std::pair<const char*, Tensor*>{"optimizer.exp_avg.", &s.m},
                               std::pair<const char*, Tensor*>{"optimizer.exp_avg_sq.", &s.v}}) {
      std::string name = prefix + s.name;
      HC_CHECK(st.has(name), path, ": missing optimiser state '", name, "'");
      HC_CHECK(st.get(name).shape() == dst->shape(), path, ": optimiser state '", name, "' has the wrong shape");
      dst->copy_(st.get(name).to(dst->device()));
    }
  }
  opt->set_steps(tr.contains("optimizer_steps")
                     ? json_int(tr["optimizer_steps"], 0, INT64_MAX, path + ": training state: optimizer_steps")
                     : 0);
}

LoadedModel load_model(const std::string& path, Device device) {
  LoadedModel m;
  m.info = read_checkpoint_info(path);
  m.model = std::make_unique<HyperClip>(m.info.config);
  load_checkpoint_weights(path, *m.model, nullptr);
  m.model->to(device);
  m.model->eval();
  return m;
}

}  // namespace hc
