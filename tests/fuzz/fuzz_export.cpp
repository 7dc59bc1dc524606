// Exported classifiers and text encoders (infer/export.h) and their configuration: loading, and
// for a small one, classifying an image or embedding a text.
#include "infer/export.h"
#include "models/config_check.h"
#include "tests/fuzz/fuzz_util.h"

using namespace hc;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("OMP_NUM_THREADS", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = hc_fuzz::write_input("in.safetensors", data, size);
  hc_fuzz::expect_clean(path, [&] {
    Classifier c = load_classifier(path);
    if (state_size(c.config, ModelParts::Classifier).total > 200000 || c.config.image.image_size > 64) return;
    const int64_t s = c.config.image.image_size;
    hc_fuzz::expect_clean("", [&] {
      Tensor cos = c.cosines(Tensor::zeros({1, 3, s, s}));
      if (cos.dim() != 2 || cos.size(1) != static_cast<int64_t>(c.class_names.size()))
        hc_fuzz::finding("classifier cosines of the wrong shape");
    });
  });
  hc_fuzz::expect_clean(path, [&] {
    TextEncoder e = load_text_encoder(path);
    if (state_size(e.config, ModelParts::TextTower).total > 200000) return;
    hc_fuzz::expect_clean("", [&] { e.embed({"a photo of a cat", ""}); });
  });
  return 0;
}
