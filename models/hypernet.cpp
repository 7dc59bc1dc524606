#include "models/hypernet.h"

namespace hc {

HyperNetwork::HyperNetwork(const HyperConfig& cfg, int64_t embed, int64_t P_, int64_t num_tokens,
                           const std::string& input_mode, double input_scale)
    : P(P_), center_(input_mode == "center"), input_scale_(input_scale) {
  HC_CHECK(input_mode == "raw" || input_mode == "center", "hypernetwork: input '", input_mode,
           "' (expected raw or center)");
  HC_CHECK(input_scale > 0, "hypernetwork: input scale must be positive, got ", input_scale);
  input = register_module("input", std::make_shared<Linear>(embed, cfg.dim));
  blocks = register_module("blocks", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < cfg.layers; ++i) blocks->append(std::make_shared<TransformerBlock>(cfg.dim, cfg.heads));
  norm = register_module("norm", std::make_shared<LayerNorm>(cfg.dim));
  bottleneck = register_module("bottleneck", std::make_shared<Linear>(cfg.dim, cfg.bottleneck));
  output = register_module("output", std::make_shared<Linear>(cfg.bottleneck, P));
  if (num_tokens > 0) tokens = register_parameter("tokens", Tensor::zeros({num_tokens, embed}));
}

Tensor HyperNetwork::forward(const Tensor& sets, HyperTrace* trace) const {
  HC_CHECK(sets.dim() == 3, "hypernetwork: expected sets [S, m, E], got ", sets.desc());
  auto record = [&](const char* stage, const Tensor& t) {
    if (trace) trace->emplace_back(stage, t);
  };
  // The input option: centring removes what the set's members share (its mean), so that the
  // network sees how the members differ; the scale sets the input's size against the
  // set-independent part the blocks add (docs/hypernetwork.md).
  Tensor x = sets;
  if (center_) x = sub(x, mean(x, {1}, /*keepdim=*/true));  // [S, m, E]
  if (input_scale_ != 1.0) x = scale(x, input_scale_);
  record("input", x);
  // No mask and no position embedding: the result does not depend on the order within a set.
  x = input->forward(x);  // [S, m, H]
  record("input_linear", x);
  for (size_t i = 0; i < blocks->size(); ++i) {
    x = blocks->at<TransformerBlock>(i)->forward(x, false);
    if (trace) trace->emplace_back("block" + std::to_string(i), x);
  }
  x = norm->forward(x);  // [S, m, H]
  record("norm", x);
  x = bottleneck->forward(x);  // [S, m, B]
  record("bottleneck", x);
  Tensor pooled = mean(x, {1});  // [S, B]
  record("set_mean", pooled);
  Tensor out = output->forward(pooled);  // [S, P]
  record("output", out);
  return out;
}

}  // namespace hc
