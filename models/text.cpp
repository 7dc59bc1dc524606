#include "models/text.h"

namespace hc {

namespace {
// Holds "weight" so the state-dict name is token_embedding.weight, as PyTorch's nn.Embedding.
class Embedding : public Module {
 public:
  Embedding(int64_t num, int64_t dim) { weight = register_parameter("weight", Tensor::zeros({num, dim})); }
  Tensor weight;
};
}  // namespace

TextTower::TextTower(const TextConfig& c, int64_t vocab_, int64_t embed, bool folded) : cfg(c), vocab(vocab_) {
  HC_CHECK(cfg.kind == "transformer" || cfg.kind == "mct", "unknown text tower kind '", cfg.kind,
           "' (expected transformer or mct)");
  token_embedding = register_module("token_embedding", std::make_shared<Embedding>(vocab, cfg.dim))->weight;
  positional_embedding = register_parameter("positional_embedding", Tensor::zeros({cfg.context, cfg.dim}));
  blocks = register_module("blocks", std::make_shared<ModuleList>());
  const bool mct = cfg.kind == "mct";
  if (mct) blocks->append(std::make_shared<RepMixerBlock>(cfg.dim, text_repmixer_kernels(), 4, folded));
  for (int64_t i = 0; i < cfg.layers; ++i) blocks->append(std::make_shared<TransformerBlock>(cfg.dim, cfg.heads));
  if (mct) blocks->append(std::make_shared<RepMixerBlock>(cfg.dim, text_repmixer_kernels(), 4, folded));
  ln_final = register_module("ln_final", std::make_shared<LayerNorm>(cfg.dim));
  proj = register_module("proj", std::make_shared<Linear>(cfg.dim, embed, false));
}

Tensor repmixer_on_sequence(const RepMixerBlock& block, const Tensor& x) {
  int64_t N = x.size(0), L = x.size(1), D = x.size(2);
  Tensor image = reshape(transpose(x, 1, 2), {N, D, 1, L});   // [N, D, 1, L]
  Tensor y = block.forward(image, nullptr);                    // the text tower's BNs are never generated
  return transpose(reshape(y, {N, D, L}), 1, 2);               // [N, L, D]
}

Tensor TextTower::forward(const Tensor& tokens, const Tensor& eot) const {
  HC_CHECK(tokens.dim() == 2 && tokens.size(1) <= cfg.context, "text tower: tokens ", tokens.desc(),
           " exceed the context length ", cfg.context);
  int64_t L = tokens.size(1);
  Tensor pos = L == cfg.context ? positional_embedding : slice(positional_embedding, 0, 0, L);
  Tensor x = add(embedding(token_embedding, tokens), pos);  // [N, L, D]
  for (size_t i = 0; i < blocks->size(); ++i) {
    if (auto mixer = blocks->at<RepMixerBlock>(i)) x = repmixer_on_sequence(*mixer, x);
    else x = blocks->at<TransformerBlock>(i)->forward(x, cfg.causal);
  }
  x = ln_final->forward(x);
  return proj->forward(gather_rows(x, eot));  // [N, E]
}

}  // namespace hc
