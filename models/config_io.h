// ModelConfig as JSON (stored in checkpoints and exported classifiers, and used by the PyTorch
// reference files): {"image": {"kind": "convnet", "width", "depth", "image_size"} or {"kind": "vit",
// "dim", "depth", "heads", "patch", "image_size"} or {"kind": "mci", "widths", "depths", "mlp_ratio",
// "image_size"}, "text": {"dim", "layers", "heads", "context", "kind", "causal"},
// "hyper": {"dim", "layers", "heads", "bottleneck"}, "embed", "vocab", "mode", "set_size",
// "generated", "num_tokens", "hyper_input", "hyper_input_scale"}.
#pragma once
#include <string>

#include "models/config.h"
#include "models/config_check.h"

namespace hc {

std::string config_to_json(const ModelConfig& cfg);
// `source` names the file in error messages. Missing optional fields take their defaults. The result
// has passed validate_config (models/config_check.h) with `parts` and `file_elements`: pass the
// file's tensor elements so that a configuration cannot describe more than the file holds.
ModelConfig config_from_json(const std::string& json, const std::string& source, ModelParts parts = ModelParts::Full,
                             int64_t file_elements = -1);
// A readable list of the fields that differ ("image.width 0.5 vs 1"), empty when equal.
std::string config_differences(const ModelConfig& a, const ModelConfig& b);

}  // namespace hc
