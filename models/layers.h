// Building blocks shared by the towers: linear, conv, the two norms (with hypernetwork-generated
// scale and shift), multi-head attention, MLP and the pre-norm transformer block.
// Parameter names follow docs/model.md.
#pragma once
#include <memory>

#include "core/module.h"
#include "ops/ops.h"

namespace hc {

// What the hypernetwork hands the image tower: params [S, P] laid out as docs/model.md says, and
// set_index I32 [N] (undefined when S == 1: every sample uses row 0).
struct Generated {
  Tensor params;
  Tensor set_index;
};

// A norm layer whose γ, β may be offset by generated values. offset is this layer's position in
// the hypernetwork's output (its dγ at [offset, offset + C), its dβ right after), or -1 when the
// layer is not generated.
struct GeneratedNorm {
  int64_t channels = 0;
  int64_t offset = -1;
};

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true);
  Tensor forward(const Tensor& x) const { return linear(x, weight, bias); }
  Tensor weight, bias;  // [out, in], [out] or undefined
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int kernel, int stride = 1, int padding = 0, int groups = 1,
         bool bias = false);
  // A kh×kw kernel with stride and padding per axis (p.groups groups).
  Conv2d(int64_t in, int64_t out, int kh, int kw, const Conv2dParams& p, bool bias);
  Tensor forward(const Tensor& x) const { return conv2d(x, weight, bias, params); }
  Tensor weight, bias;  // [out, in/groups, kh, kw], [out] or undefined
  int stride, padding, groups;  // the height axis's stride and padding (square kernels: both axes)
  Conv2dParams params;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  // gen may be null (baseline, or this layer not generated).
  Tensor forward(const Tensor& x, const Generated* gen) const;
  Tensor weight, bias, running_mean, running_var;
  GeneratedNorm generated;
  double eps, momentum;
  // Set for --sync-bn (SPEC §6): training-mode statistics over every rank's samples.
  Communicator* sync = nullptr;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5);
  Tensor forward(const Tensor& x, const Generated* gen = nullptr) const;
  Tensor weight, bias;
  GeneratedNorm generated;
  double eps;
};

class MultiheadAttention : public Module {
 public:
  // qkv_bias false: the qkv projection has no bias (MCi's attention blocks).
  MultiheadAttention(int64_t dim, int64_t heads, bool qkv_bias = true);
  Tensor forward(const Tensor& x, bool causal) const;  // [N, L, D] -> [N, L, D]
  std::shared_ptr<Linear> qkv, proj;
  int64_t dim, heads;
};

class Mlp : public Module {
 public:
  Mlp(int64_t dim, int64_t hidden);
  Tensor forward(const Tensor& x) const { return fc2->forward(gelu(fc1->forward(x))); }
  std::shared_ptr<Linear> fc1, fc2;
};

// x = x + attn(norm1(x)); x = x + mlp(norm2(x))
class TransformerBlock : public Module {
 public:
  TransformerBlock(int64_t dim, int64_t heads, int64_t mlp_ratio = 4);
  Tensor forward(const Tensor& x, bool causal, const Generated* gen = nullptr) const;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<MultiheadAttention> attn;
  std::shared_ptr<Mlp> mlp;
};

// Scale and shift for a generated norm layer: γ0 + dγ and β0 + dβ as [S, C], or γ0, β0 as they are.
void generated_affine(const Tensor& weight, const Tensor& bias, const GeneratedNorm& layer,
                      const Generated* gen, Tensor& gamma, Tensor& beta, Tensor& set_index);

}  // namespace hc
