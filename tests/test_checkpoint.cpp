// Checkpoints: a saved model and optimiser load back exactly; mismatches are refused by name.
#include <doctest/doctest.h>

#include <cstdio>
#include <unistd.h>

#include "core/grad_mode.h"
#include "data/safetensors.h"
#include "models/config_io.h"
#include "tests/model_fixture.h"
#include "train/checkpoint.h"

using namespace hc;

// The tiny model with a one-block ViT of width 32 on 16 px images.
static ModelConfig tiny(Mode mode) {
  ModelConfig c = test::tiny_config("vit-nano", 300, 32, 8, 16, 16, mode);
  c.image.vit = {32, 1, 2, 8};
  c.hyper.bottleneck = 8;
  return c;
}

TEST_CASE("checkpoint: round trip of weights, buffers, optimiser state, tokenizer and step") {
  std::string path = "/tmp/hyperclip_ckpt_test_" + std::to_string(::getpid()) + ".safetensors";
  Tokenizer tok = Tokenizer::train({"a red circle", "two blue squares"}, 300);
  HyperClip a(tiny(Mode::Hyper));
  a.init_parameters(5);
  AdamW opt(a.named_parameters(), AdamWConfig{});
  for (auto& s : opt.slots()) {
    Generator g(7);
    fill_normal(s.m, g, 1.0);
    fill_uniform(s.v, g, 0.0, 1.0);
  }
  opt.set_steps(42);
  TrainState st;
  st.step = 42;
  st.total_steps = 100;
  save_checkpoint(path, a, tok, &opt, st);

  Checkpoint info = read_checkpoint_info(path);
  CHECK(info.state.step == 42);
  CHECK(info.state.total_steps == 100);
  CHECK(info.tokenizer.to_string() == tok.to_string());
  CHECK(config_differences(info.config, a.config()).empty());
  HyperClip b(info.config);
  AdamW opt_b(b.named_parameters(), AdamWConfig{});
  load_checkpoint_weights(path, b, &opt_b);
  auto sa = a.state_dict(), sb = b.state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());
  CHECK(opt_b.steps() == 42);
  for (size_t i = 0; i < opt.slots().size(); ++i) {
    CHECK(opt.slots()[i].m.to_vector() == opt_b.slots()[i].m.to_vector());
    CHECK(opt.slots()[i].v.to_vector() == opt_b.slots()[i].v.to_vector());
  }
  // Names are the model's state-dict names, as a PyTorch state dict has them.
  SafeTensors raw = read_safetensors(path);
  CHECK(raw.has("visual.blocks.0.attn.qkv.weight"));
  CHECK(raw.has("optimizer.exp_avg.logit_scale"));
  CHECK(raw.metadata.at("format") == "hyperclip-checkpoint");

  // Another configuration is refused with the differing fields named.
  HyperClip c(tiny(Mode::Baseline));
  CHECK_THROWS_WITH_AS(load_checkpoint_weights(path, c, nullptr), doctest::Contains("another model configuration"), Error);
  ModelConfig wider = tiny(Mode::Hyper);
  wider.embed = 32;
  HyperClip d(wider);
  CHECK_THROWS_WITH_AS(load_checkpoint_weights(path, d, nullptr), doctest::Contains("embed 16 vs 32"), Error);
  // A safetensors file that is not a checkpoint.
  write_safetensors(path, {{"w", Tensor::zeros({2})}}, {{"format", "something-else"}});
  CHECK_THROWS_WITH_AS(read_checkpoint_info(path), doctest::Contains("not a hyperclip checkpoint"), Error);
  std::remove(path.c_str());
}
