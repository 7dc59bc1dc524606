#include "models/text.h"

#include <algorithm>

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

int64_t TextTower::trimmed_length(const Tensor& eot, int64_t L) const {
  HC_CHECK(eot.defined() && eot.dtype() == DType::I32 && eot.dim() == 1, "text tower: end-of-text positions ",
           eot.desc(), " must be I32 [N]");
  Tensor host = eot.device() == Device::CPU ? eot : eot.to(Device::CPU);
  const int32_t* e = host.data<int32_t>();
  int64_t last = -1;
  for (int64_t i = 0; i < host.numel(); ++i) {
    HC_CHECK(e[i] >= 0 && e[i] < L, "text tower: end-of-text position ", e[i], " of caption ", i,
             " is outside the ", L, " tokens");
    last = std::max<int64_t>(last, e[i]);
  }
  // A Text-RepMixer's 1×11 convolutions reach later positions whatever the mask: never trimmed.
  return cfg.causal && cfg.kind == "transformer" && trim ? last + 1 : L;
}

Tensor TextTower::forward(const Tensor& tokens_in, const Tensor& eot) const {
  HC_CHECK(tokens_in.dim() == 2 && tokens_in.size(1) <= cfg.context, "text tower: tokens ", tokens_in.desc(),
           " exceed the context length ", cfg.context);
  // [N, L] -> [N, L'] with L' = trimmed_length: the blocks, the token embeddings' gradient and
  // the positional embedding see only the positions that can reach an end-of-text output.
  int64_t L = trimmed_length(eot, tokens_in.size(1));
  Tensor tokens = L == tokens_in.size(1) ? tokens_in : slice(tokens_in, 1, 0, L);
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
