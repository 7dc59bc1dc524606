// Model configuration: the towers' settings, the mode, and the presets of SPEC §3 by name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hc {

struct ConvNetConfig {
  double width = 1.0, depth = 1.0;
};

struct VitConfig {
  int64_t dim = 768, depth = 12, heads = 12, patch = 16;
};

// MobileCLIP's MCi towers (SPEC 2.1): four stages, RepMixer blocks in the first three, attention
// blocks in the last.
struct MciConfig {
  std::vector<int64_t> widths = {64, 128, 256, 512};
  std::vector<int64_t> depths = {2, 6, 10, 2};
  int64_t mlp_ratio = 3;
};

struct ImageConfig {
  std::string kind = "convnet";  // "convnet" | "vit" | "mci"
  ConvNetConfig convnet;
  VitConfig vit;
  MciConfig mci;
  int64_t image_size = 224;
};

struct TextConfig {
  int64_t dim = 512, layers = 12, heads = 8, context = 77;
  // "transformer": `layers` transformer blocks (SPEC 1.3); "mct": MobileCLIP's Text-RepMixer, a
  // RepMixer block before and after them (SPEC 2.1).
  std::string kind = "transformer";
  // Causal attention mask (SPEC 1.3). A causal tower runs each batch on its trimmed length (the
  // longest end-of-text + 1, models/text.cpp); a non-causal one (SPEC 2.1: MobileCLIP's text towers)
  // sees the padding and always runs the full length it is given.
  bool causal = true;
};

struct HyperConfig {
  int64_t dim = 512, layers = 2, heads = 8, bottleneck = 256;
};

enum class Mode { Baseline, Hyper, Token };
const char* mode_name(Mode m);
Mode parse_mode(const std::string& s);

struct ModelConfig {
  ImageConfig image;
  TextConfig text;
  HyperConfig hyper;
  Mode mode = Mode::Hyper;
  int64_t embed = 512;   // E
  int64_t vocab = 8192;  // V
  int64_t set_size = 0;  // 0: the whole batch is one set
  // Which of the image tower's norm layers the hypernetwork generates (SPEC 1.4, docs/model.md):
  // "all", "first:N" or "last:N" (the first or last N in hypernetwork-output order).
  std::string generated = "all";
  int64_t num_tokens = 16;  // K, token mode
  // The hypernetwork's input (docs/hypernetwork.md): "raw", the set's embeddings as SPEC 1.4 says,
  // or "center", each set's embeddings minus the set's mean; then times hyper_input_scale.
  std::string hyper_input = "raw";
  double hyper_input_scale = 1.0;
  // The training loss with sets (docs/hypernetwork.md): "batch", one SigLIP loss over the whole
  // batch, each image embedded with its own set's parameters (SPEC 1.5); or "split", the SigLIP loss
  // within each set, each with its own set's parameters (negatives from the set only), averaged over
  // the sets, plus the SigLIP loss over the whole batch with the parameters of the whole batch as
  // one set. Split takes away the shortcut group sets offer under "batch": parameters that tell an
  // image's set apart from the batch's other sets.
  std::string set_loss = "batch";
};

// SPEC §3. Throws with the list of known names for an unknown one.
ImageConfig image_preset(const std::string& name);
TextConfig text_preset(const std::string& name);
HyperConfig hyper_preset(const std::string& name);
std::vector<std::string> image_preset_names();
std::vector<std::string> text_preset_names();
std::vector<std::string> hyper_preset_names();

}  // namespace hc
