// train --set-loss split (models/config.h, docs/hypernetwork.md): the SigLIP loss within each set,
// each set's images embedded with that set's generated parameters, averaged over the sets, plus the
// SigLIP loss over the whole batch with parameters generated from all of the batch's captions. A
// float64 gradient check of the loss's shape, the model's terms against the same terms computed set
// by set, what baseline and token mode reduce to, the configuration, and the CLI.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/grad_mode.h"
#include "models/config_io.h"
#include "ops/ops.h"
#include "tests/cli_runner.h"
#include "tests/data_test_util.h"
#include "tests/model_fixture.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

// The split loss from the ops: two sets of two, v_sets [4, E] the embeddings with each set's own
// parameters, v_batch [4, E] with the whole batch's, e [4, E] the captions; t' and b the SigLIP
// scalars. The slices route each set's gradient to its own rows only.
static std::vector<OpCase> split_set_loss_cases() {
  OpCase c;
  c.name = "pipeline/split_set_loss";
  c.inputs = {param({4, 5}, 2101), param({4, 5}, 2102), param({4, 5}, 2103), param({}, 2104, 0.5),
              param({}, 2105, 0.5)};
  c.fn = [](const std::vector<Tensor>& in) {
    Tensor v = l2_normalize(in[0]), w = l2_normalize(in[1]), e = l2_normalize(in[2]);
    Tensor within = add(siglip_loss(slice(v, 0, 0, 2), slice(e, 0, 0, 2), in[3], in[4]),
                        siglip_loss(slice(v, 0, 2, 4), slice(e, 0, 2, 4), in[3], in[4]));
    return add(scale(within, 0.5), siglip_loss(w, e, in[3], in[4]));
  };
  return {c};
}
HC_REGISTER_OP_CASES(split_set_loss_cases);

namespace {

constexpr int64_t kVocab = 40, kContext = 12, kSets = 3, kSetSize = 4, kBatch = kSets * kSetSize;

struct Batch : RandomBatch {
  explicit Batch(uint64_t seed) : RandomBatch(kBatch, kVocab, kContext, seed) {}
};

std::unique_ptr<HyperClip> tiny(hc::Mode mode, const std::string& set_loss) {
  ModelConfig c = tiny_config("vit-nano", kVocab, 64, kContext, 32, 32, mode);
  c.set_size = kSetSize;
  c.set_loss = set_loss;
  auto m = std::make_unique<HyperClip>(c);
  m->init_parameters(4);
  randomise_as_trained(*m, 6);  // generated parameters that differ from set to set
  m->eval();
  return m;
}

Tensor rows(const Tensor& x, int64_t s) { return slice(x, 0, s * kSetSize, (s + 1) * kSetSize); }

}  // namespace

TEST_CASE("set loss split: each set's term sees its own set only; the batch term uses the whole batch's parameters") {
  NoGradGuard ng;
  Batch b(31);
  auto m = tiny(hc::Mode::Hyper, "split");
  ModelOutput out = m->forward(b.images, b.tokens, b.eot);
  REQUIRE(out.loss_within.defined());
  REQUIRE(out.loss_batch.defined());
  CHECK(out.loss.item() == doctest::Approx(out.loss_within.item() + out.loss_batch.item()).epsilon(1e-6));

  // The same terms, set by set: each set's images embedded on their own with parameters generated
  // from that set's captions alone, and the whole batch with one set of all 12 captions.
  Tensor e = m->encode_text(b.tokens, b.eot);
  double within = 0;
  for (int64_t s = 0; s < kSets; ++s) {
    Tensor v = m->encode_image(rows(b.images, s), m->generate(rows(e, s), 0));
    within += siglip_loss(v, rows(e, s), m->logit_scale, m->logit_bias).item() / kSets;
  }
  double batch = siglip_loss(m->encode_image(b.images, m->generate(e, 0)), e, m->logit_scale, m->logit_bias).item();
  // float32 embeddings of the same images through the same weights, in other batch shapes: 1e-5.
  CHECK(std::abs(out.loss_within.item() - within) < 1e-5 * std::abs(within));
  CHECK(std::abs(out.loss_batch.item() - batch) < 1e-5 * std::abs(batch));
  // Under the whole-batch loss ("batch", SPEC 1.5) the same weights give another loss: cross-set
  // pairs with each set's parameters.
  auto plain = tiny(hc::Mode::Hyper, "batch");
  ModelOutput p = plain->forward(b.images, b.tokens, b.eot);
  CHECK_FALSE(p.loss_within.defined());
  CHECK(std::abs(p.loss.item() - out.loss_batch.item()) > 1e-3);
  CHECK(std::abs(p.loss.item() - out.loss.item()) > 1e-3);

  // A set's captions reach the other sets' terms only through the batch term.
  Batch c = b;
  std::vector<int32_t> tok = b.tokens.to_ints();
  for (int64_t t = 1; t < kContext; ++t) tok[(2 * kSetSize) * kContext + t] = static_cast<int32_t>(1 + t % (kVocab - 1));
  c.tokens = Tensor::from_ints(tok, {kBatch, kContext});
  Tensor e2 = m->encode_text(c.tokens, c.eot);
  for (int64_t s = 0; s < 2; ++s) {  // sets 0 and 1 are untouched
    Tensor v = m->encode_image(rows(b.images, s), m->generate(rows(e2, s), 0));
    double l = siglip_loss(v, rows(e2, s), m->logit_scale, m->logit_bias).item();
    Tensor v0 = m->encode_image(rows(b.images, s), m->generate(rows(e, s), 0));
    CHECK(l == siglip_loss(v0, rows(e, s), m->logit_scale, m->logit_bias).item());
  }
  CHECK(m->forward(c.images, c.tokens, c.eot).loss_within.item() != out.loss_within.item());
}

TEST_CASE("set loss split: baseline and token mode, whose parameters do not depend on the set, embed once") {
  NoGradGuard ng;
  Batch b(37);
  for (hc::Mode mode : {hc::Mode::Baseline, hc::Mode::Token}) {
    CAPTURE(mode_name(mode));
    auto split = tiny(mode, "split"), plain = tiny(mode, "batch");
    ModelOutput s = split->forward(b.images, b.tokens, b.eot), p = plain->forward(b.images, b.tokens, b.eot);
    // The batch term is the whole-batch loss, bit for bit; the within term uses the same embeddings.
    CHECK(s.loss_batch.item() == p.loss.item());
    CHECK(max_abs_diff(s.image_emb.to_vector(), p.image_emb.to_vector()) == 0);
    double within = 0;
    for (int64_t k = 0; k < kSets; ++k)
      within += siglip_loss(rows(p.image_emb, k), rows(p.text_emb, k), plain->logit_scale, plain->logit_bias).item();
    CHECK(s.loss_within.item() == doctest::Approx(within / kSets).epsilon(1e-6));
  }
}

TEST_CASE("set loss split: the configuration records it; old files load as batch; it needs sets") {
  ModelConfig c = tiny_config("vit-nano", kVocab, 64, kContext, 32, 32, hc::Mode::Hyper);
  c.set_size = kSetSize;
  c.set_loss = "split";
  ModelConfig r = config_from_json(config_to_json(c), "new.json");
  CHECK(r.set_loss == "split");
  nlohmann::json old = nlohmann::json::parse(config_to_json(c));
  old.erase("set_loss");
  CHECK(config_from_json(old.dump(), "old.json").set_loss == "batch");
  old["set_loss"] = "pairs";
  CHECK_THROWS_WITH_AS(config_from_json(old.dump(), "bad.json"),
                       doctest::Contains("bad.json: model configuration: set_loss = 'pairs', expected batch or split"), Error);
  old["set_loss"] = "split";
  old["set_size"] = 0;
  CHECK_THROWS_WITH_AS(config_from_json(old.dump(), "nosets.json"),
                       doctest::Contains("nosets.json: model configuration: set_loss = split needs sets (set_size > 0)"),
                       Error);
}

TEST_CASE("train --set-loss split: both terms in metrics.jsonl, exact resume, and its errors") {
  using namespace hc_test;
  TempDir dir("set_loss_cli");
  std::string base = "train --image vit-nano --image-size 32 --text text-nano --hyper hyper-nano --context 16 --vocab 300 "
                     "--data synthetic --synthetic-size 48 --batch 8 --set-size 4 --lr 1e-3 --threads 2 --log-every 1 "
                     "--diag-sets 0 --seed 3 ";
  std::string a = dir / "full", r = dir / "resumed";
  RunResult full = run_cli(base + "--set-loss split --steps 4 --ckpt-every 2 --out " + a, true);
  REQUIRE_MESSAGE(full.status == 0, full.out);
  auto losses = [](const std::string& d) {
    std::vector<nlohmann::json> out;
    std::ifstream in(d + "/metrics.jsonl");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) {
        nlohmann::json j = nlohmann::json::parse(line);
        if (j.contains("loss")) out.push_back(j);
      }
    return out;
  };
  std::vector<nlohmann::json> m = losses(a);
  REQUIRE(m.size() == 4);
  for (const auto& j : m) {
    REQUIRE(j.contains("loss_within"));
    CHECK(j["loss"].get<double>() ==
          doctest::Approx(j["loss_within"].get<double>() + j["loss_batch"].get<double>()).epsilon(1e-6));
  }
  RunResult resumed = run_cli(base + "--set-loss split --steps 4 --ckpt-every 2 --out " + r + " --resume " + a + "/step_000002.safetensors", true);
  REQUIRE_MESSAGE(resumed.status == 0, resumed.out);
  std::vector<nlohmann::json> mr = losses(r);
  REQUIRE(mr.size() == 2);
  CHECK(mr[0]["loss"].get<double>() == m[2]["loss"].get<double>());
  CHECK(mr[1]["loss"].get<double>() == m[3]["loss"].get<double>());

  RunResult e = run_cli("train --image vit-nano --text text-nano --hyper hyper-nano --data synthetic --steps 1 --batch 8 "
                        "--set-loss split --out " + dir / "x", true);
  CHECK(e.status != 0);
  CHECK(e.out.find("--set-loss split needs --set-size S") != std::string::npos);
  e = run_cli(base + "--steps 1 --set-loss within --out " + dir / "y", true);
  CHECK(e.status != 0);
  CHECK(e.out.find("--set-loss expects batch or split, got 'within'") != std::string::npos);
}
