// ModelConfig as JSON (stored in checkpoints and exported classifiers, and used by the PyTorch
// reference files): {"image": {"kind": "convnet", "width", "depth", "image_size"} or {"kind": "vit",
// "dim", "depth", "heads", "patch", "image_size"}, "text": {"dim", "layers", "heads", "context"},
// "hyper": {"dim", "layers", "heads", "bottleneck"}, "embed", "vocab", "mode", "set_size",
// "generated", "num_tokens", "hyper_input", "hyper_input_scale"}.
#pragma once
#include <string>

#include "models/config.h"

namespace hc {

std::string config_to_json(const ModelConfig& cfg);
// `source` names the file in error messages. Missing optional fields take their defaults.
ModelConfig config_from_json(const std::string& json, const std::string& source);
// A readable list of the fields that differ ("image.width 0.5 vs 1"), empty when equal.
std::string config_differences(const ModelConfig& a, const ModelConfig& b);

}  // namespace hc
