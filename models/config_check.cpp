#include "models/config_check.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "models/convnet.h"
#include "models/mobileone.h"
#include "models/text.h"

namespace hc {

namespace {

using L = ConfigLimits;

struct Checker {
  const std::string& source;
  void range(const char* field, int64_t v, int64_t lo, int64_t hi) const {
    HC_CHECK(v >= lo && v <= hi, source, ": model configuration: ", field, " = ", v, " is outside [", lo, ", ", hi,
             "]");
  }
  void multiplier(const char* field, double v) const {
    HC_CHECK(std::isfinite(v) && v > 0 && v <= L::kMaxMultiplier, source, ": model configuration: ", field, " = ", v,
             " is outside (0, ", L::kMaxMultiplier, "]");
  }
  void heads(const char* field, int64_t heads, int64_t dim) const {
    range(field, heads, 1, dim);
    HC_CHECK(dim % heads == 0, source, ": model configuration: ", field, " = ", heads, " does not divide the width ",
             dim);
  }
};

// A transformer block of width d: two layer norms, qkv and output projections, a 4d MLP.
double block_elements(double d) { return 12 * d * d + 13 * d; }

// The ConvNet's state dict, mirroring models/convnet.cpp (tests/test_config_check.cpp compares the
// two for several configurations).
double convnet_elements(const ConvNetConfig& cfg, int64_t embed, bool folded, std::vector<int64_t>* norms) {
  // conv weight [out, in/groups, k, k]; then a BN (γ, β, running mean, running var) or, folded, a bias.
  auto conv_bn = [&](double in, double out, double k, double groups) {
    if (norms) norms->push_back(static_cast<int64_t>(out));
    return out * (in / groups) * k * k + (folded ? out : 4 * out);
  };
  double n = 0;
  int64_t c = round8(32 * cfg.width);
  n += conv_bn(3, c, 3, 1);
  for (const ConvNetStage& s : kConvNetStages) {
    const int64_t out = round8(s.channels * cfg.width);
    const int64_t repeats = static_cast<int64_t>(std::ceil(s.repeats * cfg.depth));
    for (int64_t j = 0; j < repeats; ++j) {
      const double mid = static_cast<double>(c) * s.expand;
      if (s.expand != 1) n += conv_bn(c, mid, 1, 1);
      n += conv_bn(mid, mid, s.kernel, mid);
      const double reduced = std::max<int64_t>(1, c / 4);
      n += 2 * reduced * mid + reduced + mid;  // squeeze-excite: two 1x1 convs with bias
      n += conv_bn(mid, out, 1, 1);
      c = out;
    }
  }
  const int64_t head = round8(1280 * cfg.width);
  n += conv_bn(c, head, 1, 1);
  return n + static_cast<double>(embed) * head;  // projection, no bias
}

double vit_elements(const VitConfig& v, int64_t image_size, int64_t embed, std::vector<int64_t>* norms) {
  const double d = static_cast<double>(v.dim), p = static_cast<double>(v.patch);
  const double patches = std::pow(static_cast<double>(image_size / v.patch), 2);
  if (norms) norms->assign(static_cast<size_t>(2 * v.depth + 1), v.dim);
  return (3 * p * p * d + d) + patches * d + v.depth * block_elements(d) + 2 * d + d * embed;
}

// The MCi tower's state dict, mirroring models/mci.cpp and models/mobileone.cpp constructor by
// constructor, branch form or folded; the branch form's batch norms, in module order, are the
// layers the hypernetwork can generate (tests/test_config_check.cpp compares with built towers).
struct MciCounter {
  bool folded;
  std::vector<int64_t>* norms;
  double n = 0;
  void conv(double in, double out, double kh, double kw, double groups, bool bias) {
    n += out * (in / groups) * kh * kw + (bias ? out : 0);
  }
  void bn(int64_t c) {
    if (norms) norms->push_back(c);
    n += 4.0 * static_cast<double>(c);  // γ, β, running mean and variance
  }
  void conv_norm(int64_t in, int64_t out, int kh, int kw, int64_t groups) {
    conv(in, out, kh, kw, groups, folded);
    if (!folded) bn(out);
  }
  void se(int64_t c, int64_t r) { conv(c, r, 1, 1, 1, true), conv(r, c, 1, 1, 1, true); }
  void mobileone(const MobileOneSpec& s) {
    if (s.se) se(s.out, std::max<int64_t>(1, std::llround(s.out / 16.0)));
    if (folded) return conv(s.in, s.out, s.kh, s.kw, s.groups, true);
    if (s.has_identity()) bn(s.in);
    for (int i = 0; i < s.conv_branches; ++i) conv_norm(s.in, s.out, s.kh, s.kw, s.groups);
    if (s.has_scale()) conv_norm(s.in, s.out, 1, 1, s.groups);
  }
  void conv_mlp(int64_t dim, int64_t hidden, int kh, int kw) {
    conv_norm(dim, dim, kh, kw, dim);
    conv(dim, hidden, 1, 1, 1, true), conv(hidden, dim, 1, 1, 1, true);
  }
  void repmixer_block(int64_t dim, const RepMixerKernels& k, int64_t mlp_ratio) {
    if (folded) {
      conv(dim, dim, k.mixer_h, k.mixer_w, dim, true);
    } else {
      MobileOneSpec s;
      s.in = s.out = s.groups = dim, s.kh = k.mixer_h, s.kw = k.mixer_w, s.act = false;
      MobileOneSpec norm = s;
      norm.scale_branch = false, norm.conv_branches = 0;
      mobileone(norm);
      mobileone(s);
      n += dim;  // token_mixer.layer_scale
    }
    conv_mlp(dim, dim * mlp_ratio, k.ffn_h, k.ffn_w);
    if (!folded) n += dim;  // layer_scale
  }
  void attention_block(int64_t dim, int64_t mlp_ratio) {
    const double d = static_cast<double>(dim);
    if (!folded) bn(dim);
    n += 3 * d * d + (folded ? 3 * d : 0) + d * d + d;  // qkv (a bias once the norm is folded in), proj
    if (!folded) n += d;
    conv_mlp(dim, dim * mlp_ratio, 7, 7);
    if (!folded) n += d;
  }
  void tower(const MciConfig& c, int64_t embed) {
    const int64_t C0 = c.widths[0];
    MobileOneSpec s;
    s.in = 3, s.out = C0, s.stride = 2;
    mobileone(s);
    s.in = C0, s.groups = C0;
    mobileone(s);
    s.kh = s.kw = 1, s.stride = 1, s.groups = 1;
    mobileone(s);
    int64_t prev = C0;
    for (int i = 0; i < 4; ++i) {
      const int64_t w = c.widths[i];
      if (i > 0) {  // PatchEmbed: large-kernel conv (7×7 and 3×3 branches, SE from stage 2), MobileOne 1×1
        if (folded) conv(prev, w, 7, 7, prev, true);
        else conv_norm(prev, w, 7, 7, prev), conv_norm(prev, w, 3, 3, prev);
        if (i >= 2) se(w, make_divisible8(static_cast<double>(w) * 0.25));
        MobileOneSpec p;
        p.in = p.out = w, p.kh = p.kw = 1;
        mobileone(p);
      }
      if (i == 3) conv(w, w, 7, 7, w, true);  // RepCPE
      for (int64_t j = 0; j < c.depths[i]; ++j) {
        if (i == 3) attention_block(w, c.mlp_ratio);
        else repmixer_block(w, RepMixerKernels{}, c.mlp_ratio);
      }
      prev = w;
    }
    MobileOneSpec f;
    f.in = prev, f.out = 2 * prev, f.groups = prev, f.se = true;
    mobileone(f);
    n += static_cast<double>(embed) * 2 * prev;  // head.fc, no bias
  }
};

double mci_elements(const MciConfig& c, int64_t embed, bool folded, std::vector<int64_t>* norms) {
  if (norms && folded) MciCounter{false, norms}.tower(c, embed);  // the generated layers are the branch form's
  MciCounter counter{folded, folded ? nullptr : norms};
  counter.tower(c, embed);
  return counter.n;
}

// The text tower: embeddings, Text-RepMixer blocks first and last (kind mct, folded in an exported
// text encoder), transformer blocks, the final layer norm and the projection.
double text_elements(const TextConfig& t, int64_t vocab, int64_t embed, bool folded) {
  const double td = static_cast<double>(t.dim);
  double n = static_cast<double>(vocab) * td + static_cast<double>(t.context) * td + t.layers * block_elements(td) +
             2 * td + td * embed;
  if (t.kind == "mct") {
    MciCounter counter{folded, nullptr};
    counter.repmixer_block(t.dim, text_repmixer_kernels(), 4);
    n += 2 * counter.n;
  }
  return n;
}

// Checks `generated` ("all", "first:N", "last:N") against the L layers and returns the chosen ones.
std::vector<int64_t> chosen_norms(const std::string& which, const std::vector<int64_t>& norms, const Checker& c) {
  if (which == "all") return norms;
  const size_t colon = which.find(':');
  const std::string kind = which.substr(0, colon);
  const char* digits = colon == std::string::npos ? "" : which.c_str() + colon + 1;
  bool ok = (kind == "first" || kind == "last") && *digits >= '0' && *digits <= '9' && std::strlen(digits) <= 9;
  for (const char* d = digits; ok && *d; ++d) ok = *d >= '0' && *d <= '9';
  HC_CHECK(ok, c.source, ": model configuration: generated layers '", which.substr(0, 40),
           "': expected all, first:N or last:N");
  const int64_t n = std::atoll(digits), layers = static_cast<int64_t>(norms.size());
  HC_CHECK(n >= 1 && n <= layers, c.source, ": model configuration: generated layers '", which,
           "': N must be between 1 and ", layers, ", the number of norm layers this image tower can generate");
  return kind == "first" ? std::vector<int64_t>(norms.begin(), norms.begin() + n)
                         : std::vector<int64_t>(norms.end() - n, norms.end());
}

StateSize state_size_checked(const ModelConfig& cfg, ModelParts parts, const Checker& c) {
  StateSize s;
  // An exported classifier's ConvNet and MCi towers are folded (no batch norm), a ViT is not.
  const bool folded = parts == ModelParts::Classifier && cfg.image.kind != "vit";
  if (cfg.image.kind == "convnet")
    s.image = convnet_elements(cfg.image.convnet, cfg.embed, folded, &s.norm_channels);
  else if (cfg.image.kind == "mci")
    s.image = mci_elements(cfg.image.mci, cfg.embed, folded, &s.norm_channels);
  else
    s.image = vit_elements(cfg.image.vit, cfg.image.image_size, cfg.embed, &s.norm_channels);
  // An exported text encoder holds a Text-RepMixer folded.
  s.text = text_elements(cfg.text, cfg.vocab, cfg.embed, parts == ModelParts::TextTower);
  if (cfg.mode != Mode::Baseline) {
    const HyperConfig& h = cfg.hyper;
    const double hd = static_cast<double>(h.dim), b = static_cast<double>(h.bottleneck);
    double P = 0;
    for (int64_t ch : chosen_norms(cfg.generated, s.norm_channels, c)) P += 2.0 * ch;
    s.hyper = (cfg.embed * hd + hd) + h.layers * block_elements(hd) + 2 * hd + (hd * b + b) + (b * P + P);
    if (cfg.mode == Mode::Token) s.hyper += static_cast<double>(cfg.num_tokens) * cfg.embed;
  }
  switch (parts) {
    case ModelParts::Full: s.total = s.image + s.text + s.hyper + 2; break;
    case ModelParts::Classifier: s.total = s.image + 2; break;
    case ModelParts::TextTower: s.total = s.text; break;
  }
  return s;
}

}  // namespace

StateSize state_size(const ModelConfig& cfg, ModelParts parts) {
  return state_size_checked(cfg, parts, Checker{"state_size"});
}

void validate_config(const ModelConfig& cfg, const std::string& source, ModelParts parts, int64_t file_elements) {
  const Checker c{source};
  const ImageConfig& im = cfg.image;
  HC_CHECK(im.kind == "convnet" || im.kind == "vit" || im.kind == "mci", source, ": model configuration: image.kind = '",
           im.kind.substr(0, 40), "', expected convnet, vit or mci");
  c.range("image.image_size", im.image_size, 1, L::kMaxImageSize);
  if (im.kind == "convnet") {
    c.multiplier("image.width", im.convnet.width);
    c.multiplier("image.depth", im.convnet.depth);
  } else if (im.kind == "mci") {
    HC_CHECK(im.mci.widths.size() == 4 && im.mci.depths.size() == 4, source,
             ": model configuration: an mci tower has four stages (image.widths and image.depths)");
    for (int i = 0; i < 4; ++i) {
      c.range(cat("image.widths[", i, "]").c_str(), im.mci.widths[i], 1, L::kMaxDim);
      c.range(cat("image.depths[", i, "]").c_str(), im.mci.depths[i], 0, L::kMaxLayers);
    }
    // The downsampling convs are grouped by their input channels: each stage's width a multiple of
    // the one before (the presets double it).
    for (int i = 1; i < 4; ++i)
      HC_CHECK(im.mci.widths[i] % im.mci.widths[i - 1] == 0, source, ": model configuration: image.widths[", i, "] = ",
               im.mci.widths[i], " is not a multiple of image.widths[", i - 1, "] = ", im.mci.widths[i - 1]);
    // The last stage's attention has heads of 32 channels.
    HC_CHECK(im.mci.widths[3] % 32 == 0, source, ": model configuration: image.widths[3] = ", im.mci.widths[3],
             " is not a multiple of the attention head size 32");
    c.range("image.mlp_ratio", im.mci.mlp_ratio, 1, 16);
  } else {
    c.range("image.dim", im.vit.dim, 1, L::kMaxDim);
    c.range("image.depth", im.vit.depth, 0, L::kMaxLayers);
    c.heads("image.heads", im.vit.heads, im.vit.dim);
    c.range("image.patch", im.vit.patch, 1, im.image_size);
    HC_CHECK(im.image_size % im.vit.patch == 0, source, ": model configuration: image.image_size = ", im.image_size,
             " is not a multiple of image.patch = ", im.vit.patch);
    const int64_t grid = im.image_size / im.vit.patch;
    HC_CHECK(grid * grid <= L::kMaxSequence, source, ": model configuration: image.image_size / image.patch = ", grid,
             " gives ", grid * grid, " patches, more than ", L::kMaxSequence);
  }
  HC_CHECK(cfg.text.kind == "transformer" || cfg.text.kind == "mct", source, ": model configuration: text.kind = '",
           cfg.text.kind.substr(0, 40), "', expected transformer or mct");
  c.range("text.dim", cfg.text.dim, 1, L::kMaxDim);
  c.range("text.layers", cfg.text.layers, 0, L::kMaxLayers);
  c.heads("text.heads", cfg.text.heads, cfg.text.dim);
  c.range("text.context", cfg.text.context, 2, L::kMaxSequence);
  c.range("hyper.dim", cfg.hyper.dim, 1, L::kMaxDim);
  c.range("hyper.layers", cfg.hyper.layers, 0, L::kMaxLayers);
  c.heads("hyper.heads", cfg.hyper.heads, cfg.hyper.dim);
  c.range("hyper.bottleneck", cfg.hyper.bottleneck, 1, L::kMaxDim);
  c.range("embed", cfg.embed, 1, L::kMaxDim);
  c.range("vocab", cfg.vocab, 1, L::kMaxVocab);
  c.range("set_size", cfg.set_size, 0, L::kMaxSetSize);
  c.range("num_tokens", cfg.num_tokens, 1, L::kMaxTokens);
  HC_CHECK(cfg.hyper_input == "raw" || cfg.hyper_input == "center", source, ": model configuration: hyper_input = '",
           cfg.hyper_input.substr(0, 40), "', expected raw or center");
  HC_CHECK(std::isfinite(cfg.hyper_input_scale) && cfg.hyper_input_scale > 0 && cfg.hyper_input_scale <= 1e6, source,
           ": model configuration: hyper_input_scale = ", cfg.hyper_input_scale, " is outside (0, 1e6]");
  HC_CHECK(cfg.set_loss == "batch" || cfg.set_loss == "split", source, ": model configuration: set_loss = '",
           cfg.set_loss.substr(0, 40), "', expected batch or split");
  HC_CHECK(cfg.set_loss == "batch" || cfg.set_size > 0, source,
           ": model configuration: set_loss = split needs sets (set_size > 0)");

  // The fields are in range, so the sizes below are finite and computed in bounded time.
  StateSize s = state_size_checked(cfg, parts, c);
  if (cfg.mode == Mode::Baseline) chosen_norms(cfg.generated, s.norm_channels, c);  // the selection, checked anyway
  const double limit = file_elements >= 0 ? static_cast<double>(file_elements) : L::kMaxStateElements;
  if (s.total > limit) {
    std::string parts_text = parts == ModelParts::TextTower ? cat("text tower ", s.text)
                             : parts == ModelParts::Classifier ? cat("image tower ", s.image)
                             : cat("image tower ", s.image, ", text tower ", s.text, ", hypernetwork ", s.hyper);
    if (file_elements >= 0)
      throw Error(cat(source, ": model configuration describes ", s.total, " tensor elements (", parts_text,
                      "), but the file's tensors hold ", file_elements,
                      ": the configuration does not belong to this file (damaged or hostile)"));
    throw Error(cat(source, ": model configuration describes ", s.total, " tensor elements (", parts_text,
                    "), more than the limit of ", L::kMaxStateElements));
  }
}

}  // namespace hc
