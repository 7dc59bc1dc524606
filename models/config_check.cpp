#include "models/config_check.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "models/convnet.h"

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
  const bool folded = parts == ModelParts::Classifier && cfg.image.kind == "convnet";
  s.image = cfg.image.kind == "convnet" ? convnet_elements(cfg.image.convnet, cfg.embed, folded, &s.norm_channels)
                                        : vit_elements(cfg.image.vit, cfg.image.image_size, cfg.embed, &s.norm_channels);
  const TextConfig& t = cfg.text;
  const double td = static_cast<double>(t.dim);
  s.text = static_cast<double>(cfg.vocab) * td + static_cast<double>(t.context) * td + t.layers * block_elements(td) +
           2 * td + td * cfg.embed;
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
  HC_CHECK(im.kind == "convnet" || im.kind == "vit", source, ": model configuration: image.kind = '",
           im.kind.substr(0, 40), "', expected convnet or vit");
  c.range("image.image_size", im.image_size, 1, L::kMaxImageSize);
  if (im.kind == "convnet") {
    c.multiplier("image.width", im.convnet.width);
    c.multiplier("image.depth", im.convnet.depth);
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
