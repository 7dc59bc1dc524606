// Whole-pipeline gradient checks: tiny HyperCLIP forward passes built from the ops, checked end to
// end in float64, so that gradients flowing from the SigLIP loss through generated normalisation
// parameters, the hypernetwork and the text tower are verified together (SPEC 1.4).
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

namespace {

// Text side: ids [n, T] -> embedding -> + positions -> layer norm -> causal attention ->
// end-of-text row -> projection -> unit vectors [n, E].
Tensor text_tower(const Tensor& ids, const Tensor& eot, const Tensor& tok_emb, const Tensor& pos_emb,
                  const Tensor& ln_g, const Tensor& ln_b, const Tensor& qkv_w, const Tensor& proj) {
  int64_t n = ids.size(0), T = ids.size(1), D = tok_emb.size(1);
  Tensor x = add(embedding(tok_emb, ids), pos_emb);                       // [n, T, D]
  Tensor h = layer_norm(x, ln_g, ln_b);
  Tensor qkv = reshape(linear(h, qkv_w), {n, T, 3, 1, D});                // one head
  qkv = permute(qkv, {2, 0, 3, 1, 4});                                     // [3, n, 1, T, D]
  Tensor q = reshape(slice(qkv, 0, 0, 1), {n, 1, T, D});
  Tensor k = reshape(slice(qkv, 0, 1, 2), {n, 1, T, D});
  Tensor v = reshape(slice(qkv, 0, 2, 3), {n, 1, T, D});
  x = add(x, reshape(attention(q, k, v, /*causal=*/true), {n, T, D}));
  return l2_normalize(linear(gather_rows(x, eot), proj));                 // [n, E]
}

}  // namespace

static std::vector<OpCase> hyper_pipeline_cases() {
  std::vector<OpCase> cases;
  const int n = 4, T = 3, V = 7, D = 4, E = 4, C = 3, S = 2;
  Tensor ids0 = Tensor::from_ints({1, 5, 2, 6, 3, 0, 4, 4, 2, 2, 1, 6}, {n, T});
  Tensor eot0 = Tensor::from_ints({2, 1, 2, 0}, {n});
  Tensor sets0 = Tensor::from_ints({0, 0, 1, 1}, {n});  // two sets of n/S, each adapting its own images

  // ConvNet image tower with hypernetwork-generated batch-norm scale and shift.
  OpCase conv;
  conv.name = "pipeline/hyperclip_convnet_tiny";
  conv.inputs = {
      uniform({n, 2, 5, 5}, 1000, -1, 1),                   // 0 images (no grad)
      param({C, 2, 3, 3}, 1001, 0.4),                       // 1 conv weight
      uniform({C}, 1002, 0.5, 1.5).set_requires_grad(true),  // 2 gamma0
      param({C}, 1003, 0.1),                                // 3 beta0
      param({V, D}, 1004),                                  // 4 token embedding
      param({T, D}, 1005, 0.5),                             // 5 position embedding
      uniform({D}, 1006, 0.5, 1.5).set_requires_grad(true),  // 6 text LN gamma
      param({D}, 1007, 0.1),                                // 7 text LN beta
      param({3 * D, D}, 1008, 0.5),                         // 8 qkv weight
      param({E, D}, 1009, 0.5),                             // 9 text projection
      param({2 * C, E}, 1010, 0.3),                         // 10 hypernetwork output weight
      param({2 * C}, 1011, 0.1),                            // 11 hypernetwork output bias
      param({E, C}, 1012, 0.5),                             // 12 image projection
      Tensor::from_vector({0.8}, {}, DType::F64).set_requires_grad(true),   // 13 t'
      Tensor::from_vector({-1.0}, {}, DType::F64).set_requires_grad(true),  // 14 b
  };
  conv.fn = [=](const std::vector<Tensor>& in) {
    Tensor ids = as_like(ids0, in[1]), eot = as_like(eot0, in[1]), sets = as_like(sets0, in[1]);
    Tensor e = text_tower(ids, eot, in[4], in[5], in[6], in[7], in[8], in[9]);
    Tensor p = linear(mean(reshape(e, {S, n / S, E}), {1}), in[10], in[11]);  // each set's mean -> [S, 2C]
    Tensor gamma = add(in[2], slice(p, 1, 0, C)), beta = add(in[3], slice(p, 1, C, 2 * C));
    Tensor rm = Tensor::zeros({C}, in[1].dtype(), in[1].device());
    Tensor rv = Tensor::ones({C}, in[1].dtype(), in[1].device());
    Tensor y = conv2d(in[0], in[1], Tensor(), 2, 1);
    y = silu(batch_norm(y, gamma, beta, rm, rv, /*training=*/true, 0.1, 1e-5, sets));
    Tensor v = l2_normalize(linear(global_avg_pool(y), in[12]));
    return siglip_loss(v, e, in[13], in[14]);
  };
  cases.push_back(conv);

  // ViT-style image tower: generated layer-norm scale and shift, attention, mean over tokens.
  OpCase vit;
  vit.name = "pipeline/hyperclip_vit_tiny";
  vit.inputs = conv.inputs;
  vit.inputs[1] = param({D, 2, 2, 2}, 1101, 0.4);                      // patch embedding 2x2
  vit.inputs[2] = uniform({D}, 1102, 0.5, 1.5).set_requires_grad(true);  // LN gamma0
  vit.inputs[3] = param({D}, 1103, 0.1);                                // LN beta0
  vit.inputs[10] = param({2 * D, E}, 1110, 0.3);
  vit.inputs[11] = param({2 * D}, 1111, 0.1);
  vit.inputs[12] = param({E, D}, 1112, 0.5);
  vit.inputs.push_back(param({3 * D, D}, 1113, 0.5));                   // 15 image qkv weight
  vit.inputs[0] = uniform({n, 2, 4, 4}, 1100, -1, 1);
  vit.fn = [=](const std::vector<Tensor>& in) {
    Tensor ids = as_like(ids0, in[1]), eot = as_like(eot0, in[1]), sets = as_like(sets0, in[1]);
    Tensor e = text_tower(ids, eot, in[4], in[5], in[6], in[7], in[8], in[9]);
    Tensor p = linear(mean(reshape(e, {S, n / S, E}), {1}), in[10], in[11]);  // each set's mean -> [S, 2D]
    Tensor gamma = add(in[2], slice(p, 1, 0, D)), beta = add(in[3], slice(p, 1, D, 2 * D));
    Tensor x = conv2d(in[0], in[1], Tensor(), 2, 0);                       // [n, D, 2, 2]
    x = transpose(reshape(x, {n, D, 4}), 1, 2);                            // [n, 4 tokens, D]
    Tensor h = layer_norm(x, gamma, beta, 1e-5, sets);
    Tensor qkv = permute(reshape(linear(h, in[15]), {n, 4, 3, 1, D}), {2, 0, 3, 1, 4});
    Tensor q = reshape(slice(qkv, 0, 0, 1), {n, 1, 4, D});
    Tensor k = reshape(slice(qkv, 0, 1, 2), {n, 1, 4, D});
    Tensor v = reshape(slice(qkv, 0, 2, 3), {n, 1, 4, D});
    x = add(x, reshape(attention(q, k, v, false), {n, 4, D}));
    Tensor img = l2_normalize(linear(gelu(mean(x, {1})), in[12]));
    return siglip_loss(img, e, in[13], in[14]);
  };
  cases.push_back(vit);
  for (OpCase& c : cases) c.cuda_bf16 = kBf16Chain;
  // The CPU's bf16 mode also rounds the patch convolution's inputs; the ViT's γ0 gradient, a sum of
  // dy·x̂ over 4 tokens and 6 samples that mostly cancels, takes the largest error (measured NMSE
  // 6.0e-3; every other output and gradient within 1e-3).
  cases.back().cpu_bf16 = 1e-2;
  return cases;
}
HC_REGISTER_OP_CASES(hyper_pipeline_cases);
