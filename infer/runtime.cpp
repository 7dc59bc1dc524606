#include "infer/runtime.h"

// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <omp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/convnet.h"
#include "models/vit.h"
#include "ops/kernel_shapes.h"

namespace hc {

using infer::Act;

// ---- building the plan -----------------------------------------------------------------------

int ImageRuntime::value(int64_t floats_per_image) {
  values_.push_back(Value{floats_per_image, -1, -1});
  return static_cast<int>(values_.size()) - 1;
}

const float* ImageRuntime::keep(std::vector<float> v) {
  weights_.push_back(std::move(v));  // moving a vector keeps its buffer, so earlier pointers stay valid
  return weights_.back().data();
}

const float* ImageRuntime::keep(const Tensor& t) {
  HC_CHECK(t.defined(), "inference runtime: a weight the plan needs is missing");
  std::vector<double> d = t.to(Device::CPU).to_vector();
  return keep(std::vector<float>(d.begin(), d.end()));
}

ImageRuntime::Layer& ImageRuntime::add_layer(Kind kind, const std::string& name, int in, int out) {
  Layer l;
  l.kind = kind;
  l.name = name;
  l.in = in;
  l.out = out;
  layers_.push_back(l);
  return layers_.back();
}

ImageRuntime::ImageRuntime(const ImageTower& tower, const ModelConfig& config, const Tensor& classes,
                           RuntimeOptions options)
    : opt_(options) {
  HC_CHECK(opt_.max_batch >= 1, "inference runtime: max_batch must be at least 1");
  threads_ = std::max(1, opt_.threads > 0 ? opt_.threads : omp_get_max_threads());
  S_ = config.image.image_size;
  E_ = config.embed;
  HC_CHECK(classes.dim() == 2 && classes.size(1) == E_, "inference runtime: class matrix ", classes.desc(),
           " does not have E = ", E_, " columns");
  K_ = classes.size(0);
  classes_ = K_ > 0 ? keep(classes) : nullptr;
  input_ = value(3 * S_ * S_);
  if (config.image.kind == "convnet") plan_convnet(tower, config);
  else if (config.image.kind == "mci") plan_mci(tower, config);
  else plan_vit(tower, config);
  allocate();
}

// The weight of a 1x1 conv [out, in, 1, 1] is the linear layer's [out, in] as it is.
void ImageRuntime::plan_convnet(const ImageTower& tower, const ModelConfig& config) {
  auto* net = dynamic_cast<const ConvNetTower*>(&tower);
  HC_CHECK(net, "inference runtime: the model says convnet but the tower is not one");
  int64_t H = S_;
  auto conv_bias = [&](const ConvBnAct& c) {
    HC_CHECK(!c.bn && c.conv->bias.defined(),
             "inference runtime: the ConvNet tower still has batch norms (run it on an exported, folded tower)");
    return keep(c.conv->bias);
  };
  // Stem: dense 3x3 stride-2 conv of the NCHW images into channels-last [H/2, W/2, C].
  const Conv2d& stem = *net->stem->conv;
  infer::ConvGeom g{3, H, H, stem.weight.size(0), stem.weight.size(2), stem.stride, stem.padding, 0, 0};
  g.OH = g.OW = conv_out_size(H, g.K, g.stride, g.pad);
  int x = value(g.OH * g.OW * g.Cout);
  Layer& sl = add_layer(Kind::Conv, "stem", input_, x);
  sl.conv = g;
  sl.w = keep(stem.weight);
  sl.b = conv_bias(*net->stem);
  sl.act = Act::SiLU;
  sl.macs = g.OH * g.OW * g.Cout * g.patch();
  H = g.OH;
  int64_t C = g.Cout;
  for (size_t s = 0; s < net->blocks->size(); ++s) {
    auto stage = net->blocks->at<ModuleList>(s);
    for (size_t j = 0; j < stage->size(); ++j) {
      const MBConv& blk = *stage->at<MBConv>(j);
      std::string name = "blocks." + std::to_string(s) + "." + std::to_string(j);
      int h = x;
      int64_t mid = C;
      if (blk.expand) {  // 1x1 conv + bias + SiLU: one GEMM over the pixels
        mid = blk.expand->conv->weight.size(0);
        h = value(H * H * mid);
        Layer& l = add_layer(Kind::Linear, name + ".expand", x, h);
        l.rows = H * H, l.in_dim = C, l.out_dim = mid, l.act = Act::SiLU;
        l.w = keep(blk.expand->conv->weight);
        l.b = conv_bias(*blk.expand);
        l.macs = H * H * C * mid;
      }
      const Conv2d& dwc = *blk.dw->conv;
      infer::DepthwiseGeom dg{mid, H, H, dwc.weight.size(2), dwc.stride, dwc.padding, 0, 0};
      dg.OH = dg.OW = conv_out_size(H, dg.K, dg.stride, dg.pad);
      int d = value(dg.OH * dg.OW * mid);
      Layer& dl = add_layer(Kind::Depthwise, name + ".dw", h, d);
      dl.dw = dg, dl.act = Act::SiLU;
      // [C, 1, K, K] -> tap-major [K·K, C]
      std::vector<double> wv = dwc.weight.to_vector();
      std::vector<float> wt(wv.size());
      int64_t taps = dg.K * dg.K;
      for (int64_t c = 0; c < mid; ++c)
        for (int64_t t = 0; t < taps; ++t) wt[t * mid + c] = static_cast<float>(wv[c * taps + t]);
      dl.w = keep(std::move(wt));
      dl.b = conv_bias(*blk.dw);
      dl.macs = dg.OH * dg.OW * mid * taps;
      H = dg.OH;
      Layer& se = add_layer(Kind::SqueezeExcite, name + ".se", d, d);
      se.rows = H * H, se.in_dim = mid, se.out_dim = blk.se->reduce->weight.size(0);
      se.w = keep(blk.se->reduce->weight), se.b = keep(blk.se->reduce->bias);
      se.w2 = keep(blk.se->expand->weight), se.b2 = keep(blk.se->expand->bias);
      se.macs = H * H * mid + 2 * mid * se.out_dim;
      int64_t out = blk.project->conv->weight.size(0);
      int y = value(H * H * out);
      Layer& pl = add_layer(Kind::Linear, name + ".project", d, y);
      pl.rows = H * H, pl.in_dim = mid, pl.out_dim = out;
      pl.residual = blk.residual ? x : -1;
      pl.w = keep(blk.project->conv->weight);
      pl.b = conv_bias(*blk.project);
      pl.macs = H * H * mid * out;
      x = y;
      C = out;
    }
  }
  int64_t c_head = net->head->conv->weight.size(0);
  int hd = value(H * H * c_head);
  Layer& hl = add_layer(Kind::Linear, "head", x, hd);
  hl.rows = H * H, hl.in_dim = C, hl.out_dim = c_head, hl.act = Act::SiLU;
  hl.w = keep(net->head->conv->weight);
  hl.b = conv_bias(*net->head);
  hl.macs = H * H * C * c_head;
  int pooled = value(c_head);
  Layer& pool = add_layer(Kind::MeanPool, "pool", hd, pooled);
  pool.rows = H * H, pool.in_dim = c_head, pool.macs = H * H * c_head;
  embedding_ = value(E_);
  Layer& pj = add_layer(Kind::Linear, "proj", pooled, embedding_);
  pj.rows = 1, pj.in_dim = c_head, pj.out_dim = E_;
  pj.w = keep(net->proj->weight);
  pj.macs = c_head * E_;
}

void ImageRuntime::plan_vit(const ImageTower& tower, const ModelConfig& config) {
  auto* vit = dynamic_cast<const VitTower*>(&tower);
  HC_CHECK(vit, "inference runtime: the model says vit but the tower is not one");
  const int64_t D = vit->dim, L = vit->num_patches, heads = config.image.vit.heads;
  // Patch embedding: a stride-P conv with bias into channels-last [L, D] (tokens, patches
  // row-major), plus the position embedding in the epilogue.
  const Conv2d& pe = *vit->patch_embed;
  infer::ConvGeom g{3, S_, S_, D, pe.weight.size(2), pe.stride, pe.padding, 0, 0};
  g.OH = g.OW = conv_out_size(S_, g.K, g.stride, g.pad);
  HC_CHECK(g.OH * g.OW == L, "inference runtime: ", S_, " px images give ", g.OH * g.OW, " patches, the ViT has ",
           L);
  int x = value(L * D);
  Layer& pl = add_layer(Kind::Conv, "patch_embed", input_, x);
  pl.conv = g;
  pl.w = keep(pe.weight), pl.b = keep(pe.bias), pl.add = keep(vit->pos_embed);
  pl.macs = L * D * g.patch();
  auto layer_norm = [&](const LayerNorm& ln, int in, int out, const std::string& name) {
    Layer& l = add_layer(Kind::LayerNorm, name, in, out);
    l.rows = L, l.in_dim = l.out_dim = D, l.eps = ln.eps;
    l.w = keep(ln.weight), l.b = keep(ln.bias);
    l.macs = L * D * 4;
  };
  auto linear = [&](const Linear& lin, int in, int out, int residual, Act act, const std::string& name) {
    Layer& l = add_layer(Kind::Linear, name, in, out);
    l.rows = L, l.in_dim = lin.weight.size(1), l.out_dim = lin.weight.size(0);
    l.residual = residual, l.act = act;
    l.w = keep(lin.weight);
    l.b = lin.bias.defined() ? keep(lin.bias) : nullptr;
    l.macs = L * l.in_dim * l.out_dim;
  };
  int h = value(L * D), qkv = value(L * 3 * D), o = value(L * D), u = value(L * 4 * D);
  for (size_t i = 0; i < vit->blocks->size(); ++i) {
    const TransformerBlock& blk = *vit->blocks->at<TransformerBlock>(i);
    std::string name = "blocks." + std::to_string(i);
    layer_norm(*blk.norm1, x, h, name + ".norm1");
    linear(*blk.attn->qkv, h, qkv, -1, Act::None, name + ".attn.qkv");
    Layer& at = add_layer(Kind::Attention, name + ".attn", qkv, o);
    at.rows = L, at.in_dim = 3 * D, at.out_dim = D, at.heads = heads;
    at.macs = 2 * L * L * D;
    linear(*blk.attn->proj, o, x, x, Act::None, name + ".attn.proj");  // x += proj(o)
    layer_norm(*blk.norm2, x, h, name + ".norm2");
    linear(*blk.mlp->fc1, h, u, -1, Act::GELU, name + ".mlp.fc1");
    linear(*blk.mlp->fc2, u, x, x, Act::None, name + ".mlp.fc2");  // x += fc2(u)
  }
  layer_norm(*vit->norm, x, h, "norm");
  int pooled = value(D);
  Layer& pool = add_layer(Kind::MeanPool, "pool", h, pooled);
  pool.rows = L, pool.in_dim = D, pool.macs = L * D;
  embedding_ = value(E_);
  Layer& pj = add_layer(Kind::Linear, "proj", pooled, embedding_);
  pj.rows = 1, pj.in_dim = D, pj.out_dim = E_;
  pj.w = keep(vit->proj->weight);
  pj.macs = D * E_;
}

// Liveness: a value is born at the layer that first writes it and dies after the last layer that
// reads or rewrites it; the slot of a dead value goes back to a free list and the next value born
// takes the free slot closest in size (growing it if needed). A value is never given the slot of
// a value the same layer reads.
void ImageRuntime::allocate() {
  std::vector<int> born(values_.size(), -1);
  for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
    const Layer& l = layers_[i];
    for (int v : {l.in, l.out, l.residual})
      if (v >= 0) values_[v].last_use = i;
    if (born[l.out] < 0) born[l.out] = i;
  }
  values_[embedding_].last_use = static_cast<int>(layers_.size());  // read by the tail
  std::vector<int> free_slots;
  for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
    for (size_t v = 0; v < values_.size(); ++v)  // values whose last reader ran before layer i
      if (static_cast<int>(v) != input_ && values_[v].slot >= 0 && values_[v].last_use == i - 1)
        free_slots.push_back(values_[v].slot);
    Value& out = values_[layers_[i].out];
    if (born[layers_[i].out] != i) continue;
    int best = -1;
    for (size_t k = 0; k < free_slots.size(); ++k) {
      int s = free_slots[k];
      bool fits = slot_floats_[s] >= out.floats;
      if (best < 0) best = static_cast<int>(k);
      int b = free_slots[best];
      bool best_fits = slot_floats_[b] >= out.floats;
      // Prefer the smallest slot that fits, else the largest (least growth).
      if ((fits && (!best_fits || slot_floats_[s] < slot_floats_[b])) ||
          (!fits && !best_fits && slot_floats_[s] > slot_floats_[b]))
        best = static_cast<int>(k);
    }
    if (best >= 0) {
      out.slot = free_slots[best];
      free_slots.erase(free_slots.begin() + best);
      slot_floats_[out.slot] = std::max(slot_floats_[out.slot], out.floats);
    } else {
      out.slot = static_cast<int>(slot_floats_.size());
      slot_floats_.push_back(out.floats);
    }
  }
  // Arena: each slot holds max_batch images back to back, then one scratch area per thread.
  int64_t offset = 0;
  for (int64_t f : slot_floats_) {
    slot_offset_.push_back(offset);
    offset += (f * opt_.max_batch + 15) / 16 * 16;  // 64-byte aligned starts
  }
  for (const Layer& l : layers_) {
    int64_t need = 0;
    if (l.kind == Kind::Conv) need = l.conv.OH * l.conv.OW * l.conv.patch();
    if (l.kind == Kind::Attention) need = l.rows * l.rows;
    if (l.kind == Kind::SqueezeExcite) need = l.in_dim + l.out_dim;
    scratch_floats_ = std::max(scratch_floats_, (need + 15) / 16 * 16);
  }
  scratch_offset_ = offset;
  arena_.assign(offset + scratch_floats_ * threads_, 0.0f);
  pool_ = std::make_shared<WorkerPool>(threads_);
}

int64_t ImageRuntime::weight_bytes() const {
  int64_t n = 0;
  for (const auto& w : weights_) n += static_cast<int64_t>(w.size() * sizeof(float));
  return n;
}

// ---- running it --------------------------------------------------------------------------------

// Image `image` of value v, in the share of the images that starts at image `base`. A slot holds
// max_batch images of its largest value; a thread's share [b, e) of a value starts at b times that
// size and is packed (so that the rows of its images form one matrix), which keeps the shares of
// different threads apart even when values of different sizes take turns in the slot.
float* ImageRuntime::at(int v, int64_t base, int64_t image) const {
  if (v == input_) return const_cast<float*>(images_) + image * values_[v].floats;
  int s = values_[v].slot;
  return arena_.data() + slot_offset_[s] + base * slot_floats_[s] + (image - base) * values_[v].floats;
}

// Splits [0, total) into `parts` near-equal ranges; returns range `part`.
static std::pair<int64_t, int64_t> share(int64_t total, int part, int parts) {
  int64_t q = total / parts, r = total % parts;
  int64_t b = part * q + std::min<int64_t>(part, r);
  return {b, b + q + (part < r ? 1 : 0)};
}

void ImageRuntime::exec(const Layer& l, int64_t b, int64_t e, int part, int parts, float* scr) const {
  switch (l.kind) {
    case Kind::Conv:
      for (int64_t i = b; i < e; ++i) {
        auto [p0, p1] = share(l.conv.OH * l.conv.OW, part, parts);
        infer::conv2d_fused(at(l.in, b, i), l.conv, l.w, l.b, l.add, l.act, at(l.out, b, i), scr, p0, p1);
      }
      break;
    case Kind::Linear: {  // all images' rows at once: one GEMM
      auto [m0, m1] = share((e - b) * l.rows, part, parts);
      infer::linear_fused(at(l.in, b, b), l.w, l.b, l.residual >= 0 ? at(l.residual, b, b) : nullptr, at(l.out, b, b),
                          l.in_dim, l.out_dim, l.act, m0, m1);
      break;
    }
    case Kind::Depthwise:
      for (int64_t i = b; i < e; ++i) {
        auto [r0, r1] = share(l.dw.OH, part, parts);
        infer::depthwise_conv2d_fused(at(l.in, b, i), l.dw, l.w, l.b, l.act, at(l.out, b, i), r0, r1);
      }
      break;
    case Kind::SqueezeExcite:  // never split (tiny); the runtime calls it with parts == 1
      for (int64_t i = b; i < e; ++i)
        infer::squeeze_excite(at(l.out, b, i), l.rows, l.in_dim, l.w, l.b, l.w2, l.b2, l.out_dim, scr, l.inner, l.act);
      break;
    case Kind::LayerNorm: {
      auto [m0, m1] = share((e - b) * l.rows, part, parts);
      infer::layer_norm_rows(at(l.in, b, b), l.w, l.b, l.in_dim, l.eps, at(l.out, b, b), m0, m1);
      break;
    }
    case Kind::Attention:
      for (int64_t i = b; i < e; ++i) {
        auto [q0, q1] = share(l.rows, part, parts);
        infer::attention_fused(at(l.in, b, i), l.rows, l.out_dim, l.heads, at(l.out, b, i), scr, q0, q1);
      }
      break;
    case Kind::MeanPool:
      infer::mean_rows(at(l.in, b, b), e - b, l.rows, l.in_dim, at(l.out, b, b));
      break;
  }
}

// Whether layer l is split between the threads for a call of n images run layer by layer: only
// when it is big enough to pay for handing work to another thread. Squeeze-excitation and pooling
// are never split (a few thousand multiply-adds).
bool ImageRuntime::splits(const Layer& l, int64_t n) const {
  return l.kind != Kind::SqueezeExcite && l.kind != Kind::MeanPool && l.macs * n >= opt_.parallel_min_macs;
}

// L2-normalise the embeddings of images [b, e) and write them, or their cosines with the classes,
// to out (indexed from image 0 of the chunk).
void ImageRuntime::tail(int64_t b, int64_t e, float* out, bool cosines) const {
  float* emb = at(embedding_, b, b);
  infer::l2_normalize_rows(emb, e - b, E_);
  if (cosines) infer::linear_fused(emb, classes_, nullptr, nullptr, out + b * K_, E_, K_, Act::None, 0, e - b);
  else std::copy(emb, emb + (e - b) * E_, out + b * E_);
}

void ImageRuntime::run_chunk(const float* images, int64_t n, float* out, bool cosines) {
  images_ = images;
  int threads = static_cast<int>(std::min<int64_t>(threads_, omp_get_max_threads()));
  if (n >= 2 && threads >= 2) {
    // Throughput: each thread takes a contiguous share of the images through the whole network.
    int parts = static_cast<int>(std::min<int64_t>(threads, n));
    auto share_of_images = [&](int t) {
      auto [b, e] = share(n, t, parts);
      for (const Layer& l : layers_) exec(l, b, e, 0, 1, scratch(t));
      tail(b, e, out, cosines);
    };
    pool_->run(parts, share_of_images);
  } else {
    // Latency: big layers split between the threads, small ones on this thread.
    for (const Layer& l : layers_) {
      if (threads >= 2 && splits(l, n)) {
        auto part_of_layer = [&](int t) { exec(l, 0, n, t, threads, scratch(t)); };
        pool_->run(threads, part_of_layer);
      } else {
        exec(l, 0, n, 0, 1, scratch(0));
      }
    }
    tail(0, n, out, cosines);
  }
  images_ = nullptr;
}

void ImageRuntime::run(const float* images, int64_t n, float* out, bool cosines) {
  HC_CHECK(!cosines || K_ > 0, "inference runtime: no class matrix (an image encoder); ask for embeddings");
  // Eigen would start its own OpenMP team inside every product run outside a parallel region;
  // here the runtime alone decides, so Eigen runs serially for the duration of the call.
  Eigen::setNbThreads(1);
  int64_t width = cosines ? K_ : E_;
  for (int64_t s = 0; s < n; s += opt_.max_batch) {
    int64_t m = std::min(opt_.max_batch, n - s);
    run_chunk(images + s * 3 * S_ * S_, m, out + s * width, cosines);
  }
  Eigen::setNbThreads(0);  // back to Eigen's default: omp_get_max_threads()
}

void ImageRuntime::embed(const float* images, int64_t n, float* out) { run(images, n, out, false); }
void ImageRuntime::cosines(const float* images, int64_t n, float* out) { run(images, n, out, true); }

static Tensor checked_images(const Tensor& images, int64_t S) {
  HC_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(2) == S && images.size(3) == S,
           "inference runtime: images ", images.desc(), ", expected [n, 3, ", S, ", ", S, "]");
  Tensor x = images.to(Device::CPU);
  return x.dtype() == DType::F32 ? x : x.to(DType::F32);
}

Tensor ImageRuntime::embed(const Tensor& images) {
  Tensor x = checked_images(images, S_);
  Tensor out = Tensor::empty({x.size(0), E_});
  run(x.data<float>(), x.size(0), out.data<float>(), false);
  return out;
}

Tensor ImageRuntime::cosines(const Tensor& images) {
  Tensor x = checked_images(images, S_);
  Tensor out = Tensor::empty({x.size(0), K_});
  run(x.data<float>(), x.size(0), out.data<float>(), true);
  return out;
}

std::string ImageRuntime::describe() const {
  int split = 0;
  int64_t macs = 0;
  for (const Layer& l : layers_) {
    macs += l.macs;
    if (splits(l, 1)) ++split;
  }
  return nlohmann::json{{"layers", layers_.size()},
                        {"layers_split_at_batch1", split},
                        {"macs_per_image", macs},
                        {"slots", slot_floats_.size()},
                        {"values", values_.size()},
                        {"arena_bytes", arena_bytes()},
                        {"weight_bytes", weight_bytes()},
                        {"max_batch", opt_.max_batch},
                        {"threads", threads_},
                        {"parallel_min_macs", opt_.parallel_min_macs}}
      .dump();
}

}  // namespace hc
