// A standalone zero-shot classifier (SPEC 1.6, 1.7): one pass of the text tower and the
// hypernetwork builds the class matrix and the adapted image tower; for the ConvNet every batch norm
// (with its generated γ, β and running statistics) is folded into the preceding convolution,
// W' = W·γ/√(σ²+ε), b' = β − γ·μ/√(σ²+ε); an MCi tower is reparameterised (models/reparam.h: its
// generated BNs, then every branch, the ConvFFN and attention BNs and the layer scales); for the ViT
// the generated γ, β become the layer-norm parameters. The file holds the image tower, the class matrix, t, b and the class names: no text
// tower, no hypernetwork.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "infer/runtime.h"
#include "models/hyperclip.h"

namespace hc {

struct Classifier {
  ModelConfig config;  // the image tower's and E; mode records what was exported
  std::vector<std::string> class_names;
  std::shared_ptr<ImageTower> visual;  // folded (ConvNet) or adapted (ViT), evaluation mode
  Tensor classes;                      // [K, E], L2-normalised rows
  Tensor logit_scale, logit_bias;      // t' and b
  // The tape-free inference plan of visual and classes (infer/runtime.h), made by build_classifier
  // and load_classifier; prepare() remakes it (after changing the weights, or for other options).
  std::shared_ptr<ImageRuntime> runtime;
  void prepare(RuntimeOptions options = {});
  // Moves the tower and the class matrix (built and loaded on the CPU) to `device`; off the CPU
  // the runtime is dropped and cosines/embed run the tower on that device's backend.
  void to(Device device);
  // Cosine similarities [n, K] of images [n, 3, S, S], through the runtime (CPU) or the tower on
  // the classifier's device.
  Tensor cosines(const Tensor& images) const;
  // L2-normalised image embeddings [n, E], through the runtime.
  Tensor embed(const Tensor& images) const;
  // The same through the module's forward on the tape engine (what the runtime is tested against).
  Tensor cosines_tape(const Tensor& images) const;
  Tensor embed_tape(const Tensor& images) const;
};

// The text tower and tokenizer alone, for text embeddings (`export --text-only`); a Text-RepMixer is
// saved folded.
struct TextEncoder {
  ModelConfig config;
  Tokenizer tokenizer;
  std::shared_ptr<TextTower> text;
  Tensor embed(const std::vector<std::string>& texts) const;  // [n, E], L2-normalised
};
void save_text_encoder(const std::string& path, const HyperClip& model, const Tokenizer& tok);
TextEncoder load_text_encoder(const std::string& path);

// Builds the classifier from a trained model (any mode) for the given classes and templates. With
// no classes it is an image encoder (`export --image-only`): the tower as trained, BNs folded.
Classifier build_classifier(HyperClip& model, const Tokenizer& tok, const std::vector<std::string>& class_names,
                            const std::vector<std::string>& templates);
void save_classifier(const std::string& path, const Classifier& c);  // atomic safetensors
// Any damage (truncated file, another format or version, missing tensors) is an error naming the file.
Classifier load_classifier(const std::string& path);

}  // namespace hc
