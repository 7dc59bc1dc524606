#include "models/hyperclip.h"

#include <cmath>

#include "core/grad_mode.h"

#include "models/convnet.h"
#include "models/mci.h"
#include "models/vit.h"

namespace hc {

HyperClip::HyperClip(const ModelConfig& cfg) : cfg_(cfg) {
  if (cfg.image.kind == "convnet") {
    visual = register_module("visual", std::make_shared<ConvNetTower>(cfg.image.convnet, cfg.embed));
  } else if (cfg.image.kind == "vit") {
    visual = register_module("visual", std::make_shared<VitTower>(cfg.image.vit, cfg.image.image_size, cfg.embed));
  } else if (cfg.image.kind == "mci") {
    visual = register_module("visual", std::make_shared<MciTower>(cfg.image.mci, cfg.embed));
  } else {
    throw Error("unknown image tower kind '" + cfg.image.kind + "' (expected convnet, vit or mci)");
  }
  text = register_module("text", std::make_shared<TextTower>(cfg.text, cfg.vocab, cfg.embed));
  if (cfg.mode != Mode::Baseline) {
    generated_size_ = visual->assign_generated_offsets(cfg.generated);
    hyper = register_module("hyper", std::make_shared<HyperNetwork>(
                                         cfg.hyper, cfg.embed, generated_size_,
                                         cfg.mode == Mode::Token ? cfg.num_tokens : 0, cfg.hyper_input,
                                         cfg.hyper_input_scale));
  }
  logit_scale = register_parameter("logit_scale", Tensor::scalar(std::log(10.0)));
  logit_bias = register_parameter("logit_bias", Tensor::scalar(-10.0));
}

void HyperClip::init_parameters(uint64_t seed) {
  Generator g(seed);
  NoGradGuard no_grad;
  for (auto& entry : named_parameters()) {
    // Plain references, not a structured binding: C++17 lambdas cannot capture one (clang refuses).
    const std::string& name = entry.first;
    Tensor& p = entry.second;
    auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (name == "logit_scale") {
      p.fill_(std::log(10.0));
    } else if (name == "logit_bias") {
      p.fill_(-10.0);
    } else if (name.rfind("hyper.output.", 0) == 0) {
      p.fill_(0.0);  // a new model computes exactly what the baseline computes
    } else if (p.dim() == 3 && ends_with(".gamma")) {
      p.fill_(1e-5);  // MCi / Text-RepMixer layer scales (SPEC 2.1)
    } else if (p.dim() == 4) {
      // Kaiming normal, fan-out (PyTorch's kaiming_normal_(mode="fan_out", nonlinearity="relu")).
      double fan_out = static_cast<double>(p.size(0) * p.size(2) * p.size(3));
      fill_normal(p, g, std::sqrt(2.0 / fan_out));
    } else if (p.dim() == 2) {
      fill_truncated_normal(p, g, 0.02);  // linear weights and embeddings
    } else if (ends_with(".bias")) {
      p.fill_(0.0);
    } else if (ends_with(".weight") && p.dim() == 1) {
      p.fill_(1.0);  // norm scale
    } else {
      throw Error("init: no rule for parameter '" + name + "'");
    }
  }
  for (auto& [name, b] : named_buffers()) {
    bool var = name.size() >= 11 && name.compare(name.size() - 11, 11, "running_var") == 0;
    b.fill_(var ? 1.0 : 0.0);  // running mean 0, running variance 1
  }
}

Tensor HyperClip::encode_text(const Tensor& tokens, const Tensor& eot) const {
  return l2_normalize(text->forward(tokens, eot));
}

Tensor HyperClip::generate(const Tensor& text_emb, int64_t set_size) const {
  if (!hyper) return Tensor();
  if (cfg_.mode == Mode::Token) return hyper->forward(reshape(hyper->tokens, {1, -1, cfg_.embed}));
  int64_t n = text_emb.size(0), m = set_size > 0 ? set_size : n;
  HC_CHECK(n % m == 0, "batch of ", n, " is not divisible by the set size ", m);
  return hyper->forward(reshape(text_emb, {n / m, m, cfg_.embed}));
}

Tensor HyperClip::encode_image(const Tensor& images, const Tensor& hyper_out, const Tensor& set_index) const {
  if (!hyper_out.defined()) return l2_normalize(visual->forward(images, nullptr));
  Generated gen;
  gen.params = hyper_out;
  int64_t n = images.size(0), S = hyper_out.size(0);
  if (set_index.defined()) {
    HC_CHECK(set_index.dim() == 1 && set_index.size(0) == n, "encode_image: set_index ", set_index.desc(), " for ", n,
             " images");
    gen.set_index = set_index;
  } else if (S > 1) {
    HC_CHECK(n % S == 0, "batch of ", n, " images for ", S, " sets");
    std::vector<int32_t> idx(n);
    for (int64_t i = 0; i < n; ++i) idx[i] = static_cast<int32_t>(i / (n / S));
    gen.set_index = Tensor::from_ints(idx, {n}, images.device());
  }
  return l2_normalize(visual->forward(images, &gen));
}

ModelOutput HyperClip::forward(const Tensor& images, const Tensor& tokens, const Tensor& eot,
                               const ParallelForward* parallel) const {
  ModelOutput out;
  out.text_emb = encode_text(tokens, eot);
  if (!parallel) {
    out.hyper = generate(out.text_emb, cfg_.set_size);
    out.image_emb = encode_image(images, out.hyper);
    if (cfg_.set_loss == "split") return split_set_loss(images, std::move(out));
    out.loss = siglip_loss(out.image_emb, out.text_emb, logit_scale, logit_bias);
    return out;
  }
  HC_CHECK(cfg_.set_loss == "batch", "set_loss split runs as one process for now (the data-parallel step has one loss)");
  Communicator& comm = *parallel->comm;
  if (parallel->global_set && hyper && cfg_.mode == Mode::Hyper) {
    // Every rank computes the same set from all B captions; each image uses it.
    out.hyper = generate(all_gather(out.text_emb, comm), 0);
  } else {
    out.hyper = generate(out.text_emb, parallel->set_size);
  }
  out.image_emb = encode_image(images, out.hyper);
  out.loss = siglip_loss_distributed(out.image_emb, out.text_emb, logit_scale, logit_bias, comm, parallel->siglip);
  return out;
}

// set_loss "split" (models/config.h). `out` holds the text embeddings and the image embeddings made
// with each image's own set's parameters; within a set every caption comes from the set's group
// (under group sampling), so those parameters cannot help tell the captions apart by group. The
// whole-batch term sees all groups, with parameters generated from all of the batch's captions, as
// a zero-shot task of mixed classes does.
ModelOutput HyperClip::split_set_loss(const Tensor& images, ModelOutput out) const {
  int64_t n = out.text_emb.size(0), m = cfg_.set_size;
  HC_CHECK(m > 0 && n % m == 0, "set_loss split: batch of ", n, " is not divisible by the set size ", m);
  int64_t sets = n / m;
  Tensor within;
  for (int64_t s = 0; s < sets; ++s) {
    Tensor l = siglip_loss(slice(out.image_emb, 0, s * m, (s + 1) * m), slice(out.text_emb, 0, s * m, (s + 1) * m),
                           logit_scale, logit_bias);
    within = within.defined() ? add(within, l) : l;
  }
  out.loss_within = scale(within, 1.0 / static_cast<double>(sets));
  // Baseline and token mode: the parameters do not depend on the set, so the batch's embeddings are
  // the ones already computed; hyper mode embeds the images again with one set of all n captions.
  Tensor batch_emb = out.image_emb;
  if (hyper && cfg_.mode == Mode::Hyper) batch_emb = encode_image(images, generate(out.text_emb, 0));
  out.loss_batch = siglip_loss(batch_emb, out.text_emb, logit_scale, logit_bias);
  out.loss = add(out.loss_within, out.loss_batch);
  return out;
}

int HyperClip::sync_batch_norms(Communicator* comm) {
  std::vector<BatchNorm2d*> bns = visual->batch_norms();  // MCi: every branch's BN
  for (BatchNorm2d* bn : bns) bn->sync = comm;
  return static_cast<int>(bns.size());
}

ParamCounts count_parameters(const ModelConfig& cfg) {
  HyperClip m(cfg);
  ParamCounts c;
  c.image = m.visual->parameter_count();
  c.text = m.text->parameter_count();
  c.hyper = m.hyper ? m.hyper->parameter_count() : 0;
  c.total = m.parameter_count();
  return c;
}

}  // namespace hc
