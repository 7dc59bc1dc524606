// The set-swap test (infer/set_swap.h, eval --swap-test): its unswapped pass is the training loss of
// the batch, swapping parameters that do not differ changes nothing, and modes without per-set
// parameters report only the unswapped figures.
#include <doctest/doctest.h>

#include "core/grad_mode.h"
#include "infer/set_swap.h"
#include "ops/ops.h"
#include "tests/model_fixture.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

namespace {

constexpr int64_t kVocab = 40, kContext = 12, kSets = 3, kSetSize = 4, kBatch = kSets * kSetSize;

struct SwapBatch : RandomBatch {
  explicit SwapBatch(uint64_t seed) : RandomBatch(kBatch, kVocab, kContext, seed) {}
};

std::unique_ptr<HyperClip> tiny(const std::string& image, hc::Mode mode, bool trained_hyper) {
  ModelConfig c = tiny_config(image, kVocab, 64, kContext, 32, 32, mode);
  c.set_size = kSetSize;
  auto m = std::make_unique<HyperClip>(c);
  m->init_parameters(4);
  if (trained_hyper) randomise_as_trained(*m, 6);
  m->eval();
  return m;
}

double forward_loss(const HyperClip& m, const SwapBatch& b) {
  NoGradGuard ng;
  return m.forward(b.images, b.tokens, b.eot).loss.item();
}

}  // namespace

TEST_CASE("set-swap test: shift 0 is the training loss; swapping moves the loss only when the sets' parameters differ") {
  for (const char* image : {"vit-nano", "convnet-nano"}) {
    CAPTURE(image);
    SwapBatch b1(11), b2(12);
    auto m = tiny(image, hc::Mode::Hyper, true);
    SetSwapTest t(*m, kSetSize);
    t.add(b1.images, b1.tokens, b1.eot);
    t.add(b2.images, b2.tokens, b2.eot);
    SetSwapReport r = t.report();
    CHECK(r.swappable);
    CHECK(r.batches == 2);
    CHECK(r.images == 2 * kBatch);
    CHECK(r.sets_per_batch == kSets);
    // The unswapped pass is the model's own forward pass: the mean of the two batches' training losses.
    CHECK(r.loss_own == doctest::Approx((forward_loss(*m, b1) + forward_loss(*m, b2)) / 2).epsilon(1e-12));
    CHECK(r.loss_swapped != doctest::Approx(r.loss_own).epsilon(1e-6));
    // An image's best caption lies in one set: its own and the parameters' set are different sets.
    CHECK(r.set_top1_swapped + r.follows_params <= 1.0);
    for (double x : {r.set_top1_own, r.set_top1_swapped, r.follows_params, r.in_set_top1_own, r.in_set_top1_swapped}) {
      CHECK(x >= 0.0);
      CHECK(x <= 1.0);
    }
    // A fresh hypernetwork's output layer is zero: every set gets the same parameters, so every
    // shift scores exactly what the unswapped pass scores.
    auto fresh = tiny(image, hc::Mode::Hyper, false);
    SetSwapTest f(*fresh, kSetSize);
    f.add(b1.images, b1.tokens, b1.eot);
    SetSwapReport z = f.report();
    CHECK(z.swappable);
    CHECK(z.loss_swapped == doctest::Approx(z.loss_own).epsilon(1e-12));
    CHECK(z.set_top1_swapped == z.set_top1_own);
    CHECK(z.in_set_top1_swapped == z.in_set_top1_own);
  }
}

TEST_CASE("set-swap test: the baseline and token mode have no per-set parameters to swap; a batch needs two sets") {
  SwapBatch b(21);
  for (hc::Mode mode : {hc::Mode::Baseline, hc::Mode::Token}) {
    auto m = tiny("vit-nano", mode, true);
    SetSwapTest t(*m, kSetSize);
    t.add(b.images, b.tokens, b.eot);
    SetSwapReport r = t.report();
    CHECK_FALSE(r.swappable);
    CHECK(r.loss_own == doctest::Approx(forward_loss(*m, b)).epsilon(1e-12));
    nlohmann::json j = r.to_json();
    CHECK(j["diag"] == "set_swap");
    CHECK(j["loss_swapped"].is_null());
    CHECK(j["follows_params"].is_null());
    CHECK(j["set_top1_own"].is_number());
    CHECK(j["chance_set"] == doctest::Approx(1.0 / kSets));
  }
  auto m = tiny("vit-nano", hc::Mode::Hyper, true);
  SetSwapTest t(*m, kBatch);  // one set per batch: nothing to swap with
  CHECK_THROWS_WITH_AS(t.add(b.images, b.tokens, b.eot),
                       doctest::Contains("set-swap test: a batch of 12 images is not two or more sets of 12"), Error);
  CHECK_THROWS_WITH_AS(SetSwapTest(*m, 0), doctest::Contains("the set-swap test needs sets"), Error);
}
