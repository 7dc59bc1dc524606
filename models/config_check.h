// The one validation step for model configurations, wherever they come from (checkpoints, exported
// classifiers, text encoders, training options): every field in its range, the fields consistent
// with each other, and the size of the model computed from the configuration alone and compared
// with what the file's tensors hold, all before anything is allocated (issue 24). A 280 KB file
// can no longer ask for a vocabulary of 10^12 or 10^9 blocks, nor divide by a patch size of 0.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"

namespace hc {

// The ranges (docs/untrusted-input.md). SPEC §3's presets lie far inside them.
struct ConfigLimits {
  static constexpr int64_t kMaxDim = 65536;          // any width: dim, embed, bottleneck
  static constexpr int64_t kMaxLayers = 1024;        // ViT depth, text and hypernetwork layers
  static constexpr int64_t kMaxImageSize = 1024;     // pixels per side
  static constexpr int64_t kMaxSequence = 4096;      // ViT patches, text context: attention is L²
  static constexpr double kMaxMultiplier = 16.0;     // ConvNet width and depth multipliers
  static constexpr int64_t kMaxVocab = int64_t{1} << 24;
  static constexpr int64_t kMaxSetSize = int64_t{1} << 20;
  static constexpr int64_t kMaxTokens = 65536;        // token mode's learned tokens
  // Without a file to compare with (training options), the model's tensors are capped here.
  static constexpr double kMaxStateElements = 68719476736.0;  // 2^36
};

// Which tensors a file holds, for the size check.
enum class ModelParts {
  Full,        // a checkpoint: image tower, text tower, hypernetwork, logit scale and bias
  Classifier,  // an exported classifier: the image tower as exported (ConvNet BNs folded), t, b
  TextTower,   // an exported text encoder
};

// Element counts of the state dict (parameters and buffers) that a valid configuration describes,
// computed without building anything; doubles, exact below 2^53.
struct StateSize {
  double image = 0, text = 0, hyper = 0;
  double total = 0;  // of the parts asked for
  std::vector<int64_t> norm_channels;  // the image tower's generated-norm layers, in order
};
StateSize state_size(const ModelConfig& cfg, ModelParts parts = ModelParts::Full);

// Throws hc::Error naming `source` and the field ("ckpt.safetensors: model configuration:
// image.patch = 0 is outside [1, 1024]") when a field is out of range or inconsistent, and, when
// file_elements >= 0, when the parts need more tensor elements than the file holds.
void validate_config(const ModelConfig& cfg, const std::string& source, ModelParts parts = ModelParts::Full,
                     int64_t file_elements = -1);

}  // namespace hc
