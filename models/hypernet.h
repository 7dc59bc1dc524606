// The hypernetwork (SPEC 1.4): a set of embeddings in, generated norm offsets out.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/config.h"
#include "models/layers.h"

namespace hc {

// The hypernetwork's intermediate values by stage, in order: "input" [S, m, E] (after the input
// option), "input_linear" and "block<i>" [S, m, H], "norm" [S, m, H], "bottleneck" [S, m, B],
// "set_mean" [S, B], "output" [S, P]. What the conditioning trace measures (infer/conditioning.h).
using HyperTrace = std::vector<std::pair<std::string, Tensor>>;

class HyperNetwork : public Module {
 public:
  // P: the image tower's generated size. num_tokens > 0 adds the learned token set (token mode).
  // input / input_scale: ModelConfig::hyper_input and hyper_input_scale.
  HyperNetwork(const HyperConfig& cfg, int64_t embed, int64_t P, int64_t num_tokens = 0,
               const std::string& input = "raw", double input_scale = 1.0);
  // sets [S, m, E] (S sets of m embeddings each) -> [S, P]; each stage into *trace when given.
  Tensor forward(const Tensor& sets, HyperTrace* trace = nullptr) const;

  std::shared_ptr<Linear> input;
  std::shared_ptr<ModuleList> blocks;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> bottleneck, output;
  Tensor tokens;  // [K, E], token mode only
  int64_t P;

 private:
  bool center_ = false;
  double input_scale_ = 1.0;
};

}  // namespace hc
