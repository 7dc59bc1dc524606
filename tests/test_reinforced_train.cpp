// Training on a reinforced dataset (train --reinforced, SPEC 2.2): λ = 0 without extra captions
// trains exactly as plain training (caption and labelled data), resumption is bit-exact, every
// mode trains and logs its loss terms, and mismatched data or options are refused.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/reinforced.h"
#include "tests/cli_runner.h"
#include "tests/data_test_util.h"
#include "tests/model_fixture.h"
#include "train/checkpoint.h"
#include "train/reinforce.h"

using namespace hc;
using namespace hc_test;
namespace fs = std::filesystem;

namespace {

std::vector<nlohmann::json> step_lines(const std::string& metrics) {
  std::ifstream in(metrics);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j);
  }
  return out;
}

std::vector<double> losses(const std::string& metrics) {
  std::vector<double> out;
  for (const nlohmann::json& j : step_lines(metrics)) out.push_back(j["loss"].get<double>());
  return out;
}

std::vector<uint8_t> pattern_png(int w, int h, int salt) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        px[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>((x * 31 + y * 17 + c * 89 + salt * 47) % 256);
  return encode_png(w, h, 3, px);
}

// Data and teachers, built once: a TSV of 16 images (every other one with a second caption), a
// labelled folder of square images, a synthetic base, and two teacher checkpoints.
struct Fixture {
  std::string root, tsv, folder, teachers[2];
};

const Fixture& fixture() {
  static Fixture f = [] {
    Fixture f;
    f.root = "/tmp/hyperclip_reinforced_train_test_" + std::to_string(::getpid());
    fs::remove_all(f.root);
    fs::create_directories(f.root);
    const char* words[] = {"red", "blue", "green", "round", "square", "tiny", "large", "striped"};
    std::string rows;
    for (int i = 0; i < 16; ++i) {
      std::string img = "img" + std::to_string(i) + ".png";
      write_file(f.root + "/" + img, pattern_png(20, 16, i));
      rows += img + "\ta " + words[i % 8] + " " + words[(i / 2) % 8] + " thing\n";
      if (i % 2 == 0) rows += img + "\t" + words[(i + 3) % 8] + ", number " + std::to_string(i) + "\n";
    }
    f.tsv = f.root + "/captions.tsv";
    write_file(f.tsv, rows);
    f.folder = f.root + "/classes";
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 4; ++i)
        write_file(f.folder + "/" + words[c] + "/" + std::to_string(i) + ".png", pattern_png(24, 24, 10 * c + i));
    Tokenizer tok = Tokenizer::train({"a red round thing", "blue, number 2", "a photo of a green"}, 270);
    for (int k = 0; k < 2; ++k) {
      ModelConfig c = hc::test::tiny_config(k == 0 ? "convnet-nano" : "vit-nano", tok.vocab_size(), 32, 12,
                                            k == 0 ? 32 : 16, 24, k == 0 ? Mode::Hyper : Mode::Baseline);
      HyperClip m(c);
      m.init_parameters(300 + k);
      hc::test::randomise_as_trained(m, 400 + k);
      f.teachers[k] = f.root + "/teacher" + std::to_string(k) + ".safetensors";
      save_checkpoint(f.teachers[k], m, tok, nullptr, TrainState{});
    }
    return f;
  }();
  return f;
}

// A reinforced dataset of `data` under DIR/name, built in-process.
std::string reinforce(const std::string& name, const std::string& data, Augment augment, int64_t R,
                      const std::string& templates = "", int64_t synthetic_size = 0) {
  const Fixture& f = fixture();
  ReinforceOptions o;
  o.teachers = {f.teachers[0], f.teachers[1]};
  o.data = data;
  o.augment = augment;
  o.augmentations = R;
  o.templates_file = templates;
  o.synthetic_size = synthetic_size;
  o.shard_size = 8;
  o.out_dir = f.root + "/" + name;
  REQUIRE(run_reinforce(o) == 0);
  return o.out_dir;
}

const std::string kStudent = "--text text-nano --image-size 32 --batch 4 --lr 1e-3 --threads 2 --workers 2 --log-every 1 "
                             "--vocab 280 ";

}  // namespace

TEST_CASE("reinforced training: the draws are deterministic, cover the views, and pick another extra caption") {
  ReinforcedSamples s;
  s.base_row = {0, 1};
  s.source = {"a", "b"};
  s.caption_offset = {0, 3, 4};
  s.caption_id = {0, 1, 2, 3};
  s.captions = {"x", "y", "z", "w"};
  std::vector<int> views(5, 0), reals(3, 0);
  for (int64_t epoch = 0; epoch < 200; ++epoch) {
    ReinforcedDraw d = reinforced_draw(s, 5, 7, epoch, 0);
    ReinforcedDraw again = reinforced_draw(s, 5, 7, epoch, 0);
    CHECK(d.view == again.view);
    CHECK(d.real == again.real);
    CHECK(d.extra == again.extra);
    CHECK(d.extra != d.real);  // three captions: the extra one is another
    CHECK(d.real < 3);
    ++views[d.view];
    ++reals[d.real];
    ReinforcedDraw one = reinforced_draw(s, 5, 7, epoch, 1);  // one caption: both are it
    CHECK(one.real == 3);
    CHECK(one.extra == 3);
  }
  for (int v : views) CHECK(v > 20);  // about 40 each
  for (int r : reals) CHECK(r > 40);  // about 67 each
  // Another seed, another sequence of views.
  std::vector<int64_t> seq7, seq8;
  for (int64_t epoch = 0; epoch < 50; ++epoch) {
    seq7.push_back(reinforced_draw(s, 5, 7, epoch, 0).view);
    seq8.push_back(reinforced_draw(s, 5, 8, epoch, 0).view);
  }
  CHECK(seq7 != seq8);
}

TEST_CASE("reinforced training: distillation weight 0 without extra captions trains exactly as plain training") {
  const Fixture& f = fixture();
  // Caption data (synthetic scenes, square), hyper mode: the stored view is the whole image.
  std::string dir = reinforce("synthetic_none", "synthetic", Augment::None, 1, "", 64);
  std::string common = "train --image convnet-nano --hyper hyper-nano " + kStudent + "--data synthetic --synthetic-size 64 --steps 5 ";
  RunResult plain = run_cli(common + "--out " + f.root + "/plain_syn");
  RunResult zero = run_cli(common + "--out " + f.root + "/zero_syn --reinforced " + dir + " --distill-weight 0 --extra-captions off");
  REQUIRE(plain.status == 0);
  REQUIRE(zero.status == 0);
  std::vector<double> a = losses(f.root + "/plain_syn/metrics.jsonl"), b = losses(f.root + "/zero_syn/metrics.jsonl");
  REQUIRE(a.size() == 5);
  CHECK(a == b);  // bit for bit
  nlohmann::json last = step_lines(f.root + "/zero_syn/metrics.jsonl").back();
  CHECK(last["loss_siglip"].get<double>() == b.back());
  CHECK(last["loss_distill"].get<double>() > 0);
  CHECK_FALSE(last.contains("loss_siglip_extra"));
  // Labelled data (a folder captioned by templates), baseline: the real caption is the template the
  // plain loader draws.
  std::string templates = f.root + "/templates.txt";
  write_file(templates, std::string("a photo of a {}.\n{}\na {} thing\n"));
  std::string ldir = reinforce("folder_none", "folder:" + f.folder, Augment::None, 2, templates);
  std::string lcommon = "train --image vit-nano --hyper none " + kStudent + "--data folder:" + f.folder +
                        " --templates " + templates + " --steps 6 ";
  REQUIRE(run_cli(lcommon + "--out " + f.root + "/plain_lab").status == 0);
  RunResult lzero = run_cli(lcommon + "--out " + f.root + "/zero_lab --reinforced " + ldir + " --distill-weight 0 --extra-captions off");
  REQUIRE(lzero.status == 0);
  std::vector<double> c = losses(f.root + "/plain_lab/metrics.jsonl"), d = losses(f.root + "/zero_lab/metrics.jsonl");
  REQUIRE(c.size() == 6);
  CHECK(c == d);
  // With distillation the losses differ from the first step on.
  RunResult half = run_cli(lcommon + "--out " + f.root + "/half_lab --reinforced " + ldir + " --distill-weight 0.5 --extra-captions off");
  REQUIRE(half.status == 0);
  CHECK(losses(f.root + "/half_lab/metrics.jsonl")[0] != c[0]);
}

TEST_CASE("reinforced training: every mode trains and logs its terms; resumption is bit-exact") {
  const Fixture& f = fixture();
  std::string dir = reinforce("tsv_r3", "tsv:" + f.tsv, Augment::CropFlip, 3);
  const std::string data = "--data tsv:" + f.tsv + " --reinforced " + dir + " --distill-weight 0.75 ";
  for (const char* mode : {"--image convnet-nano --hyper hyper-nano --mode hyper", "--image convnet-nano --hyper none",
                           "--image vit-nano --hyper hyper-nano --mode token"}) {
    std::string out = f.root + "/mode_" + std::to_string(std::hash<std::string>()(mode));
    RunResult r = run_cli(std::string("train ") + mode + " " + kStudent + data + "--steps 2 --out " + out);
    REQUIRE_MESSAGE(r.status == 0, r.out);
    for (const nlohmann::json& j : step_lines(out + "/metrics.jsonl")) {
      double s = j["loss_siglip"], d = j["loss_distill"];
      CHECK(std::isfinite(j["loss"].get<double>()));
      CHECK(j["loss"].get<double>() == doctest::Approx(0.25 * s + 0.75 * d).epsilon(1e-6));
      CHECK(s == doctest::Approx(j["loss_siglip_real"].get<double>() + j["loss_siglip_extra"].get<double>()).epsilon(1e-12));
      CHECK(d == doctest::Approx(j["loss_distill_real"].get<double>() + j["loss_distill_extra"].get<double>()).epsilon(1e-12));
      CHECK(j["loss_distill_extra"].get<double>() > 0);
    }
  }
  // 16 images, batch 4: 4 steps per epoch, so the resumed part crosses an epoch.
  const std::string run = "train --image convnet-nano --hyper hyper-nano " + kStudent + data + "--steps 7 --ckpt-every 3 ";
  REQUIRE(run_cli(run + "--out " + f.root + "/full").status == 0);
  REQUIRE(run_cli(run + "--out " + f.root + "/resumed --resume " + f.root + "/full/step_000003.safetensors").status == 0);
  std::vector<nlohmann::json> full = step_lines(f.root + "/full/metrics.jsonl"), resumed = step_lines(f.root + "/resumed/metrics.jsonl");
  REQUIRE(full.size() == 7);
  REQUIRE(resumed.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(resumed[i]["step"] == full[i + 3]["step"]);
    for (const char* k : {"loss", "loss_siglip_real", "loss_distill_real", "loss_siglip_extra", "loss_distill_extra", "grad_norm"})
      CHECK_MESSAGE(resumed[i][k].get<double>() == full[i + 3][k].get<double>(), k);
  }
}

TEST_CASE("reinforced training: other data, --augment and options without --reinforced are refused") {
  const Fixture& f = fixture();
  std::string dir = reinforce("tsv_r1", "tsv:" + f.tsv, Augment::CropFlip, 1);
  std::string common = "train --image convnet-nano --hyper none " + kStudent + "--steps 1 --out " + f.root + "/refused ";
  RunResult r = run_cli(common + "--data synthetic --synthetic-size 64 --reinforced " + dir);
  CHECK(r.status != 0);
  CHECK(r.out.find("built from another base dataset") != std::string::npos);
  r = run_cli(common + "--data tsv:" + f.tsv + " --reinforced " + dir + " --augment crop-flip");
  CHECK(r.status != 0);
  CHECK(r.out.find("--augment does not apply with --reinforced") != std::string::npos);
  r = run_cli(common + "--data tsv:" + f.tsv + " --distill-weight 0.5");
  CHECK(r.status != 0);
  CHECK(r.out.find("need --reinforced") != std::string::npos);
  r = run_cli(common + "--data tsv:" + f.tsv + " --reinforced " + dir + " --distill-weight 1.5");
  CHECK(r.status != 0);
  r = run_cli(common + "--data tsv:" + f.tsv + " --reinforced " + f.root + "/missing");
  CHECK(r.status != 0);
  CHECK(r.out.find(f.root + "/missing/index.json") != std::string::npos);
}
