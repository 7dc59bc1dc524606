#include "infer/export.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/grad_mode.h"
#include "data/safetensors.h"
#include "infer/zeroshot.h"
#include "models/config_io.h"
#include "models/convnet.h"
#include "models/mci.h"
#include "models/reparam.h"
#include "models/vit.h"

namespace hc {

static const char* kFormat = "hyperclip-classifier";
static const char* kVersion = "1";

static std::shared_ptr<ImageTower> make_tower(const ModelConfig& cfg, bool folded) {
  if (cfg.image.kind == "convnet") return std::make_shared<ConvNetTower>(cfg.image.convnet, cfg.embed, folded);
  if (cfg.image.kind == "mci") return std::make_shared<MciTower>(cfg.image.mci, cfg.embed, folded);
  return std::make_shared<VitTower>(cfg.image.vit, cfg.image.image_size, cfg.embed);
}

void Classifier::prepare(RuntimeOptions options) {
  HC_CHECK(classes.device() == Device::CPU, "classifier: the inference runtime is CPU-only");
  runtime = std::make_shared<ImageRuntime>(*visual, config, classes, options);
}

// The runtime is a CPU plan: on another device the classifier runs the tower on that device's
// backend (the tape engine under no-grad), and the plan is dropped so it cannot run stale weights.
void Classifier::to(Device device) {
  if (device == classes.device()) return;
  visual->to(device);
  classes = classes.to(device);
  logit_scale = logit_scale.to(device);
  logit_bias = logit_bias.to(device);
  runtime.reset();
  if (device == Device::CPU) prepare();
}

Tensor Classifier::cosines(const Tensor& images) const {
  if (classes.device() != Device::CPU) return cosines_tape(images);
  HC_CHECK(runtime, "classifier: no inference plan (call prepare())");
  return runtime->cosines(images);
}

Tensor Classifier::embed(const Tensor& images) const {
  if (classes.device() != Device::CPU) return embed_tape(images);
  HC_CHECK(runtime, "classifier: no inference plan (call prepare())");
  return runtime->embed(images);
}

Tensor Classifier::cosines_tape(const Tensor& images) const {
  NoGradGuard ng;
  Tensor v = l2_normalize(visual->forward(images.to(classes.device()), nullptr));
  return matmul(v, classes, false, true);
}

Tensor Classifier::embed_tape(const Tensor& images) const {
  NoGradGuard ng;
  return l2_normalize(visual->forward(images.to(classes.device()), nullptr));
}

Classifier build_classifier(HyperClip& model, const Tokenizer& tok, const std::vector<std::string>& class_names,
                            const std::vector<std::string>& templates) {
  NoGradGuard ng;
  bool was_training = model.is_training();
  model.eval();
  Classifier c;
  c.config = model.config();
  c.class_names = class_names;
  // No classes: an image encoder for embedding use, the tower as trained (no generated offsets).
  Tensor gen;
  if (class_names.empty()) {
    c.classes = Tensor::zeros({0, c.config.embed});
  } else {
    c.classes = class_embeddings(model, tok, class_names, templates);  // [K, E]
    gen = model.generate(c.classes, 0);                                 // [1, P] or undefined
  }
  std::vector<double> p = gen.defined() ? gen.to_vector() : std::vector<double>();
  // The classifier is built in host memory whatever device the model ran on (Classifier::to moves it).
  c.classes = c.classes.to(Device::CPU);
  c.logit_scale = model.logit_scale.clone().to(Device::CPU);
  c.logit_bias = model.logit_bias.clone().to(Device::CPU);
  c.visual = make_tower(c.config, true);
  c.visual->eval();
  // Everything that keeps its name and shape (SE, projection, ViT weights) is copied as is.
  NamedTensors src = model.visual->state_dict();
  for (auto& [name, dst] : c.visual->state_dict())
    for (auto& [sname, s] : src)
      if (sname == name && s.shape() == dst.shape()) dst.copy_(s.to(dst.device()));
  // The scale and shift each norm layer uses for this class set: γ0 + dγ, β0 + dβ.
  auto affine = [&](const Tensor& w, const Tensor& b, const GeneratedNorm& g, std::vector<double>& gamma,
                    std::vector<double>& beta) {
    gamma = w.to_vector();
    beta = b.to_vector();
    if (p.empty() || g.offset < 0) return;
    for (int64_t k = 0; k < g.channels; ++k) {
      gamma[k] += p[g.offset + k];
      beta[k] += p[g.offset + g.channels + k];
    }
  };
  if (c.config.image.kind == "mci") {
    // Generated BNs first, then every branch (models/reparam.h).
    fold_mci(*std::dynamic_pointer_cast<MciTower>(model.visual), p, *std::dynamic_pointer_cast<MciTower>(c.visual));
  } else if (c.config.image.kind == "convnet") {
    auto full = std::dynamic_pointer_cast<ConvNetTower>(model.visual)->conv_bn_layers();
    auto folded = std::dynamic_pointer_cast<ConvNetTower>(c.visual)->conv_bn_layers();
    HC_CHECK(full.size() == folded.size(), "export: tower structures differ");
    for (size_t l = 0; l < full.size(); ++l) {
      const BatchNorm2d& bn = *full[l]->bn;
      std::vector<double> gamma, beta;
      affine(bn.weight, bn.bias, bn.generated, gamma, beta);
      std::vector<double> mu = bn.running_mean.to_vector(), var = bn.running_var.to_vector();
      std::vector<double> w = full[l]->conv->weight.to_vector();
      int64_t out = full[l]->conv->weight.size(0), per = full[l]->conv->weight.numel() / out;
      std::vector<double> bias(out);
      for (int64_t o = 0; o < out; ++o) {
        double s = gamma[o] / std::sqrt(var[o] + bn.eps);
        for (int64_t i = 0; i < per; ++i) w[o * per + i] *= s;
        bias[o] = beta[o] - mu[o] * s;
      }
      folded[l]->conv->weight.copy_(Tensor::from_vector(w, folded[l]->conv->weight.shape(), DType::F64));
      folded[l]->conv->bias.copy_(Tensor::from_vector(bias, {out}, DType::F64));
    }
  } else {
    auto vit_full = std::dynamic_pointer_cast<VitTower>(model.visual);
    auto vit_out = std::dynamic_pointer_cast<VitTower>(c.visual);
    std::vector<std::pair<LayerNorm*, LayerNorm*>> pairs;
    for (size_t i = 0; i < vit_full->blocks->size(); ++i) {
      pairs.emplace_back(vit_full->blocks->at<TransformerBlock>(i)->norm1.get(), vit_out->blocks->at<TransformerBlock>(i)->norm1.get());
      pairs.emplace_back(vit_full->blocks->at<TransformerBlock>(i)->norm2.get(), vit_out->blocks->at<TransformerBlock>(i)->norm2.get());
    }
    pairs.emplace_back(vit_full->norm.get(), vit_out->norm.get());
    for (auto& [src_ln, dst_ln] : pairs) {
      std::vector<double> gamma, beta;
      affine(src_ln->weight, src_ln->bias, src_ln->generated, gamma, beta);
      dst_ln->weight.copy_(Tensor::from_vector(gamma, dst_ln->weight.shape(), DType::F64));
      dst_ln->bias.copy_(Tensor::from_vector(beta, dst_ln->bias.shape(), DType::F64));
    }
  }
  model.train(was_training);
  c.prepare();
  return c;
}

void save_classifier(const std::string& path, const Classifier& c) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : c.visual->state_dict()) tensors.emplace_back("visual." + name, t);
  tensors.emplace_back("classes", c.classes);
  tensors.emplace_back("logit_scale", c.logit_scale);
  tensors.emplace_back("logit_bias", c.logit_bias);
  write_safetensors(path, tensors,
                    {{"format", kFormat},
                     {"version", kVersion},
                     {"model", config_to_json(c.config)},
                     {"folded", c.config.image.kind == "vit" ? "false" : "true"},
                     {"class_names", nlohmann::json(c.class_names).dump()}});
}

// The text tower as trained, a Text-RepMixer's blocks folded (models/reparam.h).
void save_text_encoder(const std::string& path, const HyperClip& model, const Tokenizer& tok) {
  const ModelConfig& cfg = model.config();
  TextTower folded(cfg.text, cfg.vocab, cfg.embed, true);
  folded.to(model.text->token_embedding.device());
  fold_text(*model.text, folded);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : folded.state_dict()) tensors.emplace_back("text." + name, t);
  write_safetensors(path, tensors,
                    {{"format", "hyperclip-text-encoder"},
                     {"version", kVersion},
                     {"model", config_to_json(model.config())},
                     {"tokenizer", tok.to_string()}});
}

TextEncoder load_text_encoder(const std::string& path) {
  SafeTensors st = read_safetensors(path);
  auto it = st.metadata.find("format");
  HC_CHECK(it != st.metadata.end() && it->second == "hyperclip-text-encoder", path,
           ": not a hyperclip text encoder (format '", it == st.metadata.end() ? std::string("missing") : it->second, "')");
  HC_CHECK(st.metadata.count("version") && st.metadata.at("version") == kVersion, path,
           ": text encoder of another version");
  TextEncoder e;
  HC_CHECK(st.metadata.count("model") && st.metadata.count("tokenizer"), path,
           ": text encoder metadata lacks 'model' or 'tokenizer'");
  e.config = config_from_json(st.metadata.at("model"), path, ModelParts::TextTower, st.total_elements());
  e.tokenizer = Tokenizer::from_string(st.metadata.at("tokenizer"), path + " (tokenizer)");
  HC_CHECK(e.tokenizer.vocab_size() <= e.config.vocab, path, ": the tokenizer has ", e.tokenizer.vocab_size(),
           " tokens, more than the model configuration's vocab of ", e.config.vocab);
  e.text = std::make_shared<TextTower>(e.config.text, e.config.vocab, e.config.embed, true);
  e.text->eval();
  for (auto& [name, t] : e.text->state_dict()) {
    const Tensor& src = st.get("text." + name);
    HC_CHECK(src.shape() == t.shape(), path, ": tensor 'text.", name, "' is ", src.desc(), ", expected ",
             shape_str(t.shape()));
    t.copy_(src);
  }
  return e;
}

Tensor TextEncoder::embed(const std::vector<std::string>& texts) const {
  NoGradGuard ng;
  Tensor tokens, eot;
  tokenize_batch(tokenizer, texts, config.text.context, tokens, eot);
  return l2_normalize(text->forward(tokens, eot));
}

Classifier load_classifier(const std::string& path) {
  SafeTensors st = read_safetensors(path);
  auto meta = [&](const char* k) {
    auto it = st.metadata.find(k);
    HC_CHECK(it != st.metadata.end(), path, ": not a hyperclip classifier (metadata lacks '", k, "')");
    return it->second;
  };
  HC_CHECK(meta("format") == kFormat, path, ": not a hyperclip classifier (format '", meta("format"), "')");
  HC_CHECK(meta("version") == kVersion, path, ": classifier version '", meta("version"), "', this build reads version ",
           kVersion);
  Classifier c;
  c.config = config_from_json(meta("model"), path, ModelParts::Classifier, st.total_elements());
  try {
    c.class_names = nlohmann::json::parse(meta("class_names")).get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    throw Error(cat(path, ": bad class names (", e.what(), ")"));
  }
  c.visual = make_tower(c.config, true);
  c.visual->eval();
  for (auto& [name, t] : c.visual->state_dict()) {
    const Tensor& src = st.get("visual." + name);
    HC_CHECK(src.shape() == t.shape(), path, ": tensor 'visual.", name, "' is ", src.desc(), ", expected ",
             shape_str(t.shape()));
    t.copy_(src);
  }
  c.classes = st.get("classes");
  HC_CHECK(c.classes.dim() == 2 && c.classes.size(0) == static_cast<int64_t>(c.class_names.size()) &&
               c.classes.size(1) == c.config.embed,
           path, ": class matrix ", c.classes.desc(), " does not match ", c.class_names.size(), " classes of E ",
           c.config.embed);
  c.logit_scale = st.get("logit_scale");
  c.logit_bias = st.get("logit_bias");
  HC_CHECK(c.logit_scale.numel() == 1 && c.logit_bias.numel() == 1, path, ": logit_scale ", c.logit_scale.desc(),
           " and logit_bias ", c.logit_bias.desc(), " must be single numbers");
  c.prepare();
  return c;
}

}  // namespace hc
