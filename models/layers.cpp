#include "models/layers.h"

namespace hc {

// Parameters are created with placeholder values; HyperClip::init_parameters (models/hyperclip.cpp)
// initialises them all from one seeded generator.

Linear::Linear(int64_t in, int64_t out, bool with_bias) {
  weight = register_parameter("weight", Tensor::zeros({out, in}));
  if (with_bias) bias = register_parameter("bias", Tensor::zeros({out}));
}

Conv2d::Conv2d(int64_t in, int64_t out, int kernel, int stride_, int padding_, int groups_,
               bool with_bias)
    : stride(stride_), padding(padding_), groups(groups_) {
  HC_CHECK(in % groups == 0 && out % groups == 0, "Conv2d: channels ", in, "->", out,
           " not divisible by groups ", groups);
  weight = register_parameter("weight", Tensor::zeros({out, in / groups, kernel, kernel}));
  if (with_bias) bias = register_parameter("bias", Tensor::zeros({out}));
  params.stride_h = params.stride_w = stride;
  params.pad_h = params.pad_w = padding;
  params.groups = groups;
}

Conv2d::Conv2d(int64_t in, int64_t out, int kh, int kw, const Conv2dParams& p, bool with_bias)
    : stride(p.stride_h), padding(p.pad_h), groups(p.groups), params(p) {
  HC_CHECK(in % groups == 0 && out % groups == 0, "Conv2d: channels ", in, "->", out,
           " not divisible by groups ", groups);
  weight = register_parameter("weight", Tensor::zeros({out, in / groups, kh, kw}));
  if (with_bias) bias = register_parameter("bias", Tensor::zeros({out}));
}

void generated_affine(const Tensor& weight, const Tensor& bias, const GeneratedNorm& layer,
                      const Generated* gen, Tensor& gamma, Tensor& beta, Tensor& set_index) {
  if (!gen || layer.offset < 0) {
    gamma = weight;
    beta = bias;
    set_index = Tensor();
    return;
  }
  int64_t C = layer.channels, o = layer.offset;
  HC_CHECK(gen->params.dim() == 2 && gen->params.size(1) >= o + 2 * C,
           "generated parameters ", gen->params.desc(), " too small for a norm layer at offset ", o);
  gamma = add(weight, slice(gen->params, 1, o, o + C));          // [S, C]
  beta = add(bias, slice(gen->params, 1, o + C, o + 2 * C));     // [S, C]
  set_index = gen->set_index;
}

BatchNorm2d::BatchNorm2d(int64_t channels, double eps_, double momentum_)
    : eps(eps_), momentum(momentum_) {
  weight = register_parameter("weight", Tensor::ones({channels}));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::ones({channels}));
  generated.channels = channels;
}

Tensor BatchNorm2d::forward(const Tensor& x, const Generated* gen) const {
  Tensor gamma, beta, set_index;
  generated_affine(weight, bias, generated, gen, gamma, beta, set_index);
  if (sync && is_training())
    return sync_batch_norm(x, gamma, beta, running_mean, running_var, *sync, momentum, eps, set_index);
  return batch_norm(x, gamma, beta, running_mean, running_var, is_training(), momentum, eps,
                    set_index);
}

LayerNorm::LayerNorm(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", Tensor::ones({dim}));
  bias = register_parameter("bias", Tensor::zeros({dim}));
  generated.channels = dim;
}

Tensor LayerNorm::forward(const Tensor& x, const Generated* gen) const {
  Tensor gamma, beta, set_index;
  generated_affine(weight, bias, generated, gen, gamma, beta, set_index);
  return layer_norm(x, gamma, beta, eps, set_index);
}

MultiheadAttention::MultiheadAttention(int64_t dim_, int64_t heads_, bool qkv_bias) : dim(dim_), heads(heads_) {
  HC_CHECK(dim % heads == 0, "attention: width ", dim, " not divisible by ", heads, " heads");
  qkv = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkv_bias));
  proj = register_module("proj", std::make_shared<Linear>(dim, dim));
}

Tensor MultiheadAttention::forward(const Tensor& x, bool causal) const {
  // [N, L, D] -> qkv [N, L, 3D] -> heads attended and merged in place -> [N, L, D]
  return proj->forward(self_attention(qkv->forward(x), heads, causal));
}

Mlp::Mlp(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", std::make_shared<Linear>(dim, hidden));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden, dim));
}

TransformerBlock::TransformerBlock(int64_t dim, int64_t heads, int64_t mlp_ratio) {
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim));
  attn = register_module("attn", std::make_shared<MultiheadAttention>(dim, heads));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim));
  mlp = register_module("mlp", std::make_shared<Mlp>(dim, mlp_ratio * dim));
}

Tensor TransformerBlock::forward(const Tensor& x, bool causal, const Generated* gen) const {
  Tensor h = add(x, attn->forward(norm1->forward(x, gen), causal));
  return add(h, mlp->forward(norm2->forward(h, gen)));
}

}  // namespace hc
