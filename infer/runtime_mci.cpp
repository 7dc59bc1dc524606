// The inference plan of an exported (folded, models/reparam.h) MCi tower (infer/runtime.h). Every
// block is already one convolution, so the plan is, channels-last:
//   stem        dense 3×3 s2 conv + GELU (from the NCHW images), depthwise 3×3 s2 + GELU, 1×1 + GELU
//   downsample  grouped 7×7 s2 (two outputs per channel) [+ SE(ReLU)] + GELU, 1×1 + GELU
//   RepCPE      depthwise 7×7 (identity folded in)
//   RepMixer    depthwise 3×3 → h; depthwise 7×7 → fc1 + GELU → fc2 added into h (layer scale in fc2)
//   attention   qkv (+ bias: the pre-norm BN) → attention → proj added into x; ConvFFN as above
//   head        grouped 3×3 (two outputs per channel) + SE(ReLU) + GELU, mean pool, projection
#include "core/error.h"
#include "infer/runtime.h"
#include "models/mci.h"
#include "ops/kernel_shapes.h"

namespace hc {

using infer::Act;

int ImageRuntime::plan_depthwise(const Conv2d& conv, int in, int64_t& H, Act act, const std::string& name) {
  const Conv2dParams& p = conv.params;
  const Tensor& w = conv.weight;  // [C·mult, 1, K, K]
  int64_t C = p.groups, CO = w.size(0), K = w.size(2);
  HC_CHECK(w.size(1) == 1 && CO % C == 0 && w.size(3) == K && p.stride_h == p.stride_w && p.pad_h == p.pad_w &&
               conv.bias.defined(),
           "inference runtime: ", name, " is not a square depthwise convolution with bias (", w.desc(), ")");
  infer::DepthwiseGeom g{C, H, H, K, p.stride_h, p.pad_h, 0, 0};
  g.mult = CO / C;
  g.OH = g.OW = conv_out_size(H, K, g.stride, g.pad);
  int out = value(g.OH * g.OW * CO);
  Layer& l = add_layer(Kind::Depthwise, name, in, out);
  l.dw = g, l.act = act;
  // [C·mult, 1, K, K] -> tap-major [K·K, C·mult]
  std::vector<double> wv = w.to_vector();
  std::vector<float> wt(wv.size());
  int64_t taps = K * K;
  for (int64_t o = 0; o < CO; ++o)
    for (int64_t t = 0; t < taps; ++t) wt[t * CO + o] = static_cast<float>(wv[o * taps + t]);
  l.w = keep(std::move(wt));
  l.b = keep(conv.bias);
  l.macs = g.OH * g.OW * CO * taps;
  H = g.OH;
  return out;
}

// w [out, in] (a linear layer) or [out, in, 1, 1] (a 1x1 conv): the same memory.
int ImageRuntime::plan_linear(const Tensor& w, const Tensor& b, int in, int out, int residual, int64_t rows, Act act,
                              const std::string& name) {
  int64_t o = w.size(0), i = w.size(1);
  HC_CHECK(w.numel() == o * i, "inference runtime: ", name, " is not a 1x1 convolution (", w.desc(), ")");
  if (out < 0) out = value(rows * o);
  Layer& l = add_layer(Kind::Linear, name, in, out);
  l.rows = rows, l.in_dim = i, l.out_dim = o, l.residual = residual, l.act = act;
  l.w = keep(w);
  l.b = b.defined() ? keep(b) : nullptr;
  l.macs = rows * i * o;
  return out;
}

void ImageRuntime::plan_squeeze_excite(const Conv2d& fc1, const Conv2d& fc2, int x, int64_t rows, Act inner, Act out,
                                       const std::string& name) {
  Layer& se = add_layer(Kind::SqueezeExcite, name, x, x);
  se.rows = rows, se.in_dim = fc1.weight.size(1), se.out_dim = fc1.weight.size(0);
  se.inner = inner, se.act = out;
  se.w = keep(fc1.weight), se.b = keep(fc1.bias);
  se.w2 = keep(fc2.weight), se.b2 = keep(fc2.bias);
  se.macs = rows * se.in_dim + 2 * se.in_dim * se.out_dim;
}

void ImageRuntime::plan_mci(const ImageTower& tower, const ModelConfig& config) {
  auto* net = dynamic_cast<const MciTower*>(&tower);
  HC_CHECK(net, "inference runtime: the model says mci but the tower is not one");
  HC_CHECK(net->final_conv->reparam_conv,
           "inference runtime: the MCi tower still has its branches (run it on an exported, folded tower)");
  int64_t H = S_;
  // Stem: a dense 3x3 stride-2 conv of the NCHW images into channels-last [H/2, W/2, C0].
  const Conv2d& c0 = *net->stem_block(0)->reparam_conv;
  infer::ConvGeom g{3, H, H, c0.weight.size(0), c0.weight.size(2), c0.stride, c0.padding, 0, 0};
  g.OH = g.OW = conv_out_size(H, g.K, g.stride, g.pad);
  int x = value(g.OH * g.OW * g.Cout);
  Layer& sl = add_layer(Kind::Conv, "stem.0", input_, x);
  sl.conv = g;
  sl.w = keep(c0.weight);
  sl.b = keep(c0.bias);
  sl.act = Act::GELU;
  sl.macs = g.OH * g.OW * g.Cout * g.patch();
  H = g.OH;
  x = plan_depthwise(*net->stem_block(1)->reparam_conv, x, H, Act::GELU, "stem.1");
  const Conv2d& c2 = *net->stem_block(2)->reparam_conv;
  x = plan_linear(c2.weight, c2.bias, x, -1, -1, H * H, Act::GELU, "stem.2");
  for (size_t s = 0; s < net->stages->size(); ++s) {
    const FastVitStage& st = *net->stage(s);
    std::string name = "stages." + std::to_string(s);
    if (st.downsample) {
      const ReparamLargeKernelConv& lk = *st.downsample->large();
      x = plan_depthwise(*lk.reparam_conv, x, H, lk.se ? Act::None : Act::GELU, name + ".downsample.proj.0");
      if (lk.se) plan_squeeze_excite(*lk.se->fc1, *lk.se->fc2, x, H * H, Act::ReLU, Act::GELU, name + ".downsample.proj.0.se");
      const Conv2d& pw = *st.downsample->pointwise()->reparam_conv;
      x = plan_linear(pw.weight, pw.bias, x, -1, -1, H * H, Act::GELU, name + ".downsample.proj.1");
    }
    if (st.pos_emb) x = plan_depthwise(*st.pos_emb->reparam_conv, x, H, Act::None, name + ".pos_emb");
    for (size_t j = 0; j < st.blocks->size(); ++j) {
      std::string bname = name + ".blocks." + std::to_string(j);
      std::shared_ptr<ConvMlp> mlp;
      if (st.attention) {
        const AttentionBlock& blk = *st.blocks->at<AttentionBlock>(j);
        const MultiheadAttention& at = *blk.token_mixer;
        int64_t L = H * H, D = at.dim;
        int qkv = plan_linear(at.qkv->weight, at.qkv->bias, x, -1, -1, L, Act::None, bname + ".token_mixer.qkv");
        int o = value(L * D);
        Layer& al = add_layer(Kind::Attention, bname + ".token_mixer", qkv, o);
        al.rows = L, al.in_dim = 3 * D, al.out_dim = D, al.heads = at.heads;
        al.macs = 2 * L * L * D;
        plan_linear(at.proj->weight, at.proj->bias, o, x, x, L, Act::None, bname + ".token_mixer.proj");  // x += proj(o)
        mlp = blk.mlp;
      } else {
        const RepMixerBlock& blk = *st.blocks->at<RepMixerBlock>(j);
        int64_t H0 = H;
        x = plan_depthwise(*blk.token_mixer->reparam_conv, x, H, Act::None, bname + ".token_mixer");
        HC_CHECK(H == H0, "inference runtime: ", bname, " changes the map size");
        mlp = blk.mlp;
      }
      // ConvFFN, its output added into x in place (the layer scale is in fc2).
      int64_t H1 = H;
      int d = plan_depthwise(*mlp->conv->conv, x, H1, Act::None, bname + ".mlp.conv");
      int u = plan_linear(mlp->fc1->weight, mlp->fc1->bias, d, -1, -1, H * H, Act::GELU, bname + ".mlp.fc1");
      plan_linear(mlp->fc2->weight, mlp->fc2->bias, u, x, x, H * H, Act::None, bname + ".mlp.fc2");
    }
  }
  const MobileOneBlock& fc = *net->final_conv;
  x = plan_depthwise(*fc.reparam_conv, x, H, Act::None, "final_conv");
  plan_squeeze_excite(*fc.se->fc1, *fc.se->fc2, x, H * H, Act::ReLU, Act::GELU, "final_conv.se");
  int64_t C = fc.reparam_conv->weight.size(0);
  int pooled = value(C);
  Layer& pool = add_layer(Kind::MeanPool, "pool", x, pooled);
  pool.rows = H * H, pool.in_dim = C, pool.macs = H * H * C;
  embedding_ = value(E_);
  plan_linear(net->head->fc->weight, Tensor(), pooled, embedding_, -1, 1, Act::None, "head.fc");
  (void)config;
}

}  // namespace hc
