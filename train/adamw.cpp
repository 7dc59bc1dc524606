#include "train/adamw.h"

#include <cmath>

#include "core/backend.h"
#include "core/grad_mode.h"
#include "ops/ops.h"

namespace hc {

bool decays(const std::string& name, const Tensor& param) {
  if (param.dim() < 2) return false;
  for (const char* emb : {"token_embedding.weight", "positional_embedding", "pos_embed", "tokens"}) {
    std::string e = emb;
    bool match = name == e || (name.size() > e.size() &&
                               name.compare(name.size() - e.size() - 1, e.size() + 1, "." + e) == 0);
    if (match) return false;
  }
  return true;
}

AdamW::AdamW(const NamedTensors& params, const AdamWConfig& cfg) : cfg_(cfg) {
  for (auto& [name, p] : params) {
    HC_CHECK(p.requires_grad(), "AdamW: '", name, "' does not require grad");
    Slot s;
    s.name = name;
    s.param = p;
    s.m = Tensor::empty_on(p.backend(), p.shape(), p.dtype());
    s.v = Tensor::empty_on(p.backend(), p.shape(), p.dtype());
    s.m.fill_(0);
    s.v.fill_(0);
    s.decay = decays(name, p);
    s.lr_scale = name.rfind("hyper.", 0) == 0 ? cfg.hyper_lr_scale : 1.0;
    slots_.push_back(s);
  }
}

void AdamW::step(double lr) {
  ++step_;
  for (Slot& s : slots_) {
    Tensor g = s.param.grad();
    if (!g.defined()) continue;
    s.param.backend().adamw_step(s.param, g, s.m, s.v, lr * s.lr_scale, cfg_.beta1, cfg_.beta2, cfg_.eps,
                                 s.decay ? cfg_.weight_decay : 0.0, step_);
  }
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  NoGradGuard no_grad;
  double total = 0;
  Tensor device_total;  // on a GPU the squares add up there: one wait for the device, not one per tensor
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    Tensor s = sum_all(mul(g, g));
    if (g.device() == Device::CPU) total += s.item();
    else device_total = device_total.defined() ? add(device_total, s) : s;
  }
  if (device_total.defined()) total += device_total.item();
  double norm = std::sqrt(total);
  double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.backend().unary(UnaryOp::Scale, g, coef, g);
    }
  }
  return norm;
}

double lr_at(int64_t step, double base_lr, int64_t warmup, int64_t total) {
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  int64_t e = step - warmup, es = total - warmup;
  if (es <= 0) return base_lr;
  return 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(e) / static_cast<double>(es))) * base_lr;
}

}  // namespace hc
