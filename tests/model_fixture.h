// Small HyperCLIP models for tests, written once: a configuration small enough to build and run in
// milliseconds, and a way to make a fresh model look trained.
#pragma once
#include <string>
#include <vector>

#include "core/grad_mode.h"
#include "core/random.h"
#include "models/hyperclip.h"

namespace hc::test {

// The `image` preset at image_size px, a one-layer text tower and hypernetwork of `width` with two
// heads (the hypernetwork's bottleneck width/2, the text context `context`), embedding `embed`.
inline ModelConfig tiny_config(const std::string& image, int64_t vocab, int64_t width = 64, int64_t context = 12,
                               int64_t embed = 32, int64_t image_size = 32, Mode mode = Mode::Hyper) {
  ModelConfig c;
  c.image = image_preset(image);
  c.image.image_size = image_size;
  c.text = {width, 1, 2, context};
  c.hyper = {width, 1, 2, width / 2};
  c.embed = embed;
  c.vocab = vocab;
  c.mode = mode;
  return c;
}

// A freshly initialised model made to look trained: a non-zero hypernetwork output layer (a new
// one is zero, so the generated parameters would be too) and running statistics away from 0 and 1
// (which would hide mistakes in folding them).
inline void randomise_as_trained(HyperClip& m, uint64_t seed) {
  NoGradGuard ng;
  Generator g(seed);
  for (auto& [name, p] : m.named_parameters())
    if (name.rfind("hyper.output.", 0) == 0) fill_normal(p, g, 0.05);
  for (auto& [name, b] : m.named_buffers()) {
    if (name.find("running_mean") != std::string::npos) fill_normal(b, g, 0.3);
    else fill_uniform(b, g, 0.5, 2.0);
  }
}

// n random images [n, 3, size, size] with n random captions of 3 to `context` tokens (ids 1..vocab-1;
// the end-of-text position in eot), all from `seed`.
struct RandomBatch {
  Tensor images, tokens, eot;
  RandomBatch(int64_t n, int64_t vocab, int64_t context, uint64_t seed, int64_t size = 32) {
    images = Tensor::empty({n, 3, size, size}, DType::F32);
    Generator g(seed);
    fill_normal(images, g, 1.0);
    std::vector<int32_t> tok(n * context, 0), end(n);
    for (int64_t i = 0; i < n; ++i) {
      end[i] = static_cast<int32_t>(2 + g.next_u64() % (context - 2));
      for (int64_t t = 0; t <= end[i]; ++t) tok[i * context + t] = static_cast<int32_t>(1 + g.next_u64() % (vocab - 1));
    }
    tokens = Tensor::from_ints(tok, {n, context});
    eot = Tensor::from_ints(end, {n});
  }
};

}  // namespace hc::test
