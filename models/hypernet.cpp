#include "models/hypernet.h"

namespace hc {

HyperNetwork::HyperNetwork(const HyperConfig& cfg, int64_t embed, int64_t P_, int64_t num_tokens)
    : P(P_) {
  input = register_module("input", std::make_shared<Linear>(embed, cfg.dim));
  blocks = register_module("blocks", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < cfg.layers; ++i) blocks->append(std::make_shared<TransformerBlock>(cfg.dim, cfg.heads));
  norm = register_module("norm", std::make_shared<LayerNorm>(cfg.dim));
  bottleneck = register_module("bottleneck", std::make_shared<Linear>(cfg.dim, cfg.bottleneck));
  output = register_module("output", std::make_shared<Linear>(cfg.bottleneck, P));
  if (num_tokens > 0) tokens = register_parameter("tokens", Tensor::zeros({num_tokens, embed}));
}

Tensor HyperNetwork::forward(const Tensor& sets) const {
  HC_CHECK(sets.dim() == 3, "hypernetwork: expected sets [S, m, E], got ", sets.desc());
  // No mask and no position embedding: the result does not depend on the order within a set.
  Tensor x = input->forward(sets);  // [S, m, H]
  for (size_t i = 0; i < blocks->size(); ++i) x = blocks->at<TransformerBlock>(i)->forward(x, false);
  x = bottleneck->forward(norm->forward(x));  // [S, m, B]
  return output->forward(mean(x, {1}));       // [S, P]
}

}  // namespace hc
