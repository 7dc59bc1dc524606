// Checkpoints (train/checkpoint.h) and their configuration, as eval, embed and export read them:
// header and metadata, the model built from the configuration, the weights and optimiser state
// loaded into it; for a small model, one forward pass of each tower.
#include "core/grad_mode.h"
#include "models/config_check.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/checkpoint.h"

using namespace hc;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("OMP_NUM_THREADS", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = hc_fuzz::write_input("in.safetensors", data, size);
  Checkpoint info;
  bool ok = false;
  hc_fuzz::expect_clean(path, [&] {
    info = read_checkpoint_info(path);
    ok = true;
  });
  if (!ok) return 0;
  HyperClip model(info.config);  // validated: no larger than the file's tensors
  AdamW opt(model.named_parameters(), AdamWConfig{});
  bool loaded = false;
  hc_fuzz::expect_clean(path, [&] {
    load_checkpoint_weights(path, model, &opt);
    loaded = true;
  });
  const ModelConfig& c = info.config;
  if (!loaded || state_size(c).total > 200000 || c.image.image_size > 64) return 0;
  // A forward pass of a small model: shapes the configuration allows must run. Messages of the ops
  // name no file, so any hc::Error is accepted here.
  hc_fuzz::expect_clean("", [&] {
    NoGradGuard ng;
    model.eval();
    const int64_t L = std::min<int64_t>(c.text.context, 4);
    std::vector<int32_t> ids(static_cast<size_t>(L), Tokenizer::kPad);
    ids[0] = Tokenizer::kSot;
    ids[L - 1] = Tokenizer::kEot;
    Tensor tokens = Tensor::from_ints(ids, {1, L}), eot = Tensor::from_ints({static_cast<int32_t>(L - 1)}, {1});
    Tensor text = model.encode_text(tokens, eot);
    Tensor images = Tensor::zeros({1, 3, c.image.image_size, c.image.image_size});
    model.encode_image(images, model.generate(text, 0));
  });
  return 0;
}
