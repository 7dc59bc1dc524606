// The hypernetwork (SPEC 1.4): a set of embeddings in, generated norm offsets out.
#pragma once
#include "models/config.h"
#include "models/layers.h"

namespace hc {

class HyperNetwork : public Module {
 public:
  // P: the image tower's generated size. num_tokens > 0 adds the learned token set (token mode).
  HyperNetwork(const HyperConfig& cfg, int64_t embed, int64_t P, int64_t num_tokens = 0);
  // sets [S, m, E] (S sets of m embeddings each) -> [S, P]
  Tensor forward(const Tensor& sets) const;

  std::shared_ptr<Linear> input;
  std::shared_ptr<ModuleList> blocks;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> bottleneck, output;
  Tensor tokens;  // [K, E], token mode only
  int64_t P;
};

}  // namespace hc
