// Reinforced datasets (SPEC 2.2, data/reinforced.h, train/reinforce.h): fp16 rounding, the sample
// list of caption and labelled data, replay exactness (a teacher re-run on a replayed view gives
// the stored embedding within fp16 rounding), resumption, and refusals: another base dataset, a
// truncated or damaged shard, a folder of another job.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/random.h"
#include "data/reinforced.h"
#include "data/safetensors.h"
#include "infer/templates.h"
#include "tests/cli_runner.h"
#include "tests/data_test_util.h"
#include "tests/model_fixture.h"
#include "train/checkpoint.h"
#include "train/reinforce.h"

using namespace hc;
using namespace hc_test;
namespace fs = std::filesystem;

namespace {

// Checks that `what` throws an hc::Error whose message contains every one of `parts`.
template <class F>
void check_error(F what, const std::vector<std::string>& parts) {
  try {
    what();
    FAIL("no error");
  } catch (const Error& e) {
    for (const std::string& p : parts) CHECK_MESSAGE(std::string(e.what()).find(p) != std::string::npos, e.what());
  }
}

// A non-square image whose pixels vary with position and `salt`.
std::vector<uint8_t> pattern_png(int w, int h, int salt) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        px[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>((x * 23 + y * 41 + c * 97 + salt * 53) % 256);
  return encode_png(w, h, 3, px);
}

// Six images on nine TSV rows: img1 has three captions, img3 two (one repeated elsewhere).
const char* kRows =
    "img0.png\ta red circle\n"
    "img1.png\ta blue square\n"
    "img1.png\tthe square is blue\n"
    "img2.png\ta green triangle\n"
    "img1.png\tsquare, blue\n"
    "img3.png\ttwo stars\n"
    "img3.png\ta red circle\n"
    "img4.png\tone moon\n"
    "img5.png\tan empty field\n";

// The fixture every test below shares, built once: the TSV data, three teacher checkpoints (a
// hyper ConvNet, a baseline ViT of another width, a token-mode ConvNet), and a reinforced dataset
// of them with R = 3.
struct Fixture {
  std::string root, tsv, teachers[3], dir;
  ReinforceOptions opt;
};

const Fixture& fixture() {
  static Fixture f = [] {
    Fixture f;
    f.root = "/tmp/hyperclip_reinforced_test_" + std::to_string(::getpid());
    fs::remove_all(f.root);
    fs::create_directories(f.root);
    for (int i = 0; i < 6; ++i) write_file(f.root + "/img" + std::to_string(i) + ".png", pattern_png(22 + i, 17, i));
    f.tsv = f.root + "/captions.tsv";
    write_file(f.tsv, std::string(kRows));
    Tokenizer tok = Tokenizer::train({"a red circle", "a blue square", "two stars", "one moon"}, 270);
    struct T {
      const char* image;
      int64_t embed;
      Mode mode;
    } kinds[3] = {{"convnet-nano", 32, Mode::Hyper}, {"vit-nano", 24, Mode::Baseline}, {"convnet-nano", 16, Mode::Token}};
    for (int k = 0; k < 3; ++k) {
      ModelConfig c = hc::test::tiny_config(kinds[k].image, tok.vocab_size(), 32, 12, kinds[k].embed, 24, kinds[k].mode);
      if (kinds[k].mode == Mode::Baseline) c.hyper = {};
      HyperClip m(c);
      m.init_parameters(100 + k);
      hc::test::randomise_as_trained(m, 200 + k);
      TrainState st;
      st.step = 7;
      st.args_json = "{\"batch\": 4}";
      f.teachers[k] = f.root + "/teacher" + std::to_string(k) + ".safetensors";
      save_checkpoint(f.teachers[k], m, tok, nullptr, st);
    }
    f.opt.teachers = {f.teachers[0], f.teachers[1], f.teachers[2]};
    f.opt.data = "tsv:" + f.tsv;
    f.opt.augmentations = 3;
    f.opt.shard_size = 4;
    f.opt.batch = 3;  // chunks that do not align with the shards
    f.opt.seed = 9;
    f.opt.workers = 2;
    f.dir = f.root + "/reinforced";
    f.opt.out_dir = f.dir;
    REQUIRE(run_reinforce(f.opt) == 0);
    return f;
  }();
  return f;
}

std::vector<double> row(const float* p, int64_t n) { return std::vector<double>(p, p + n); }

// |stored - fresh| within the rounding of fp16 (11 significant bits: half an ulp is 2^-11 of the
// value, 2^-25 absolute among the subnormals), plus 1e-6 for float32 sums taken in batches of
// another composition.
void check_fp16_close(const std::vector<double>& stored, const std::vector<double>& fresh) {
  REQUIRE(stored.size() == fresh.size());
  double worst = 0;
  for (size_t i = 0; i < stored.size(); ++i) {
    double bound = std::max(std::fabs(fresh[i]) * std::ldexp(1.0, -11), std::ldexp(1.0, -25)) + 1e-6;
    worst = std::max(worst, std::fabs(stored[i] - fresh[i]) / bound);
  }
  CHECK(worst <= 1.0);
}

}  // namespace

TEST_CASE("reinforced: float_to_half rounds to nearest even and half_to_float inverts it") {
  CHECK(float_to_half(1.0f) == 0x3c00);
  CHECK(float_to_half(-2.0f) == 0xc000);
  CHECK(float_to_half(65504.0f) == 0x7bff);
  CHECK(float_to_half(65519.0f) == 0x7bff);
  CHECK(float_to_half(65520.0f) == 0x7c00);  // halfway to 2^16, ties to even: infinity
  CHECK(float_to_half(1e30f) == 0x7c00);
  CHECK(float_to_half(-INFINITY) == 0xfc00);
  CHECK(std::isnan(half_to_float(float_to_half(NAN))));
  CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);  // the smallest subnormal
  CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);  // half of it: a tie, to even (zero)
  CHECK(float_to_half(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 ulp: a tie, to even (2)
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie between 1 and 1+2^-10: even
  CHECK(float_to_half(1.0f + std::ldexp(3.0f, -11)) == 0x3c02);  // tie between 1+2^-10 and 1+2^-9: even
  CHECK(float_to_half(std::ldexp(1.0f, -14) * (1 - std::ldexp(1.0f, -12))) == 0x0400);  // rounds up into the normals
  // Every finite half converts to a float and back to itself.
  for (uint32_t h = 0; h < 0x10000; ++h)
    if ((h & 0x7c00) != 0x7c00) REQUIRE(float_to_half(half_to_float(static_cast<uint16_t>(h))) == h);
  // Random floats: the result is a nearest half.
  Generator g(3);
  for (int i = 0; i < 20000; ++i) {
    float x = static_cast<float>((g.uniform() * 2 - 1) * std::ldexp(1.0, static_cast<int>(g.next_u64() % 40) - 26));
    uint16_t h = float_to_half(x);
    float y = half_to_float(h);
    float below = half_to_float(static_cast<uint16_t>(h - 1)), above = half_to_float(static_cast<uint16_t>(h + 1));
    if ((h & 0x7fff) != 0 && (h & 0x7fff) < 0x7bff) {
      CHECK(std::fabs(x - y) <= std::fabs(x - below));
      CHECK(std::fabs(x - y) <= std::fabs(x - above));
    }
  }
}

TEST_CASE("reinforced: a TSV's rows are grouped by image; labelled data is captioned by every template") {
  TempDir d("reinforced_samples");
  for (int i = 0; i < 6; ++i) write_file(d / ("img" + std::to_string(i) + ".png"), pattern_png(8, 8, i));
  write_file(d / "captions.tsv", std::string(kRows));
  auto tsv = open_dataset("tsv:" + (d / "captions.tsv"));
  ReinforcedSamples s = reinforced_samples(*tsv, {});
  REQUIRE(s.size() == 6);
  CHECK(s.base_row == std::vector<uint64_t>{0, 1, 3, 5, 7, 8});
  CHECK(s.captions.size() == 8);  // "a red circle" is shared by img0 and img3
  REQUIRE(s.caption_count(1) == 3);
  CHECK(s.captions[s.caption(1, 0)] == "a blue square");
  CHECK(s.captions[s.caption(1, 2)] == "square, blue");
  CHECK(s.caption(3, 1) == s.caption(0, 0));
  CHECK(s.source[2] == d / "img2.png");

  // Labelled: a folder of two classes, two templates.
  for (const char* cls : {"cat", "dog"})
    for (int i = 0; i < 2; ++i) write_file(d / (std::string("classes/") + cls + "/" + std::to_string(i) + ".png"), pattern_png(8, 8, i));
  auto folder = open_dataset("folder:" + (d / "classes"));
  ReinforcedSamples l = reinforced_samples(*folder, {"a photo of a {}.", "{}"});
  REQUIRE(l.size() == 4);
  CHECK(l.captions == std::vector<std::string>{"a photo of a cat.", "cat", "a photo of a dog.", "dog"});
  CHECK(l.caption_count(3) == 2);
  CHECK(l.captions[l.caption(3, 0)] == "a photo of a dog.");
  CHECK_THROWS_AS(reinforced_samples(*folder, {}), Error);
  // The identity follows the captions, class names and templates, never the images.
  CHECK(base_identity(*folder, {"{}"}) != base_identity(*folder, {"a photo of a {}.", "{}"}));
  CHECK(base_identity(*tsv, {}) == base_identity(*open_dataset("tsv:" + (d / "captions.tsv")), {}));
}

TEST_CASE("reinforced: replaying a stored view through its teacher reproduces the stored embedding") {
  const Fixture& f = fixture();
  auto base = open_dataset(f.opt.data);
  ReinforcedData data(f.dir, *base, {});
  const ReinforcedIndex& x = data.index();
  REQUIRE(x.complete);
  CHECK(x.samples == 6);
  CHECK(x.captions == 8);
  CHECK(x.dim == 32 + 24 + 16);
  CHECK(x.image_shards.size() == 2);
  CHECK(x.teachers[0].hyper_set == "captions:4");  // the teacher's training batch
  CHECK(x.teachers[1].hyper_set == "none");
  CHECK(x.teachers[2].hyper_set == "tokens");
  // The augmentations: the draws of each sample's own stream, so any shard can be rebuilt alone.
  int flips = 0, partial = 0;
  for (size_t i = 0; i < 6; ++i) {
    Sample s = base->get(data.samples().base_row[i]);
    std::vector<AugmentParams> want =
        reinforce_augmentations(s.image.width, s.image.height, Augment::CropFlip, 0.5, 3, f.opt.seed, i);
    for (int r = 0; r < 3; ++r) {
      const AugmentParams& a = data.augment(i, r);
      CHECK(a.box.left == want[r].box.left);
      CHECK(a.box.width == want[r].box.width);
      CHECK(a.box.top == want[r].box.top);
      CHECK(a.box.height == want[r].box.height);
      CHECK(a.flip == want[r].flip);
      flips += a.flip;
      partial += a.box.width < s.image.width;
    }
  }
  CHECK(flips > 0);
  CHECK(partial > 0);
  // Each teacher, loaded afresh, on views cut again from the stored parameters.
  int64_t col = 0;
  for (int k = 0; k < 3; ++k) {
    ReinforceTeacher t(f.teachers[k], "captions", data.samples().captions, f.opt.seed, Device::CPU);
    for (size_t i : {size_t{0}, size_t{4}, size_t{5}}) {  // both shards
      Sample s = base->get(data.samples().base_row[i]);
      for (int r = 0; r < 3; ++r) {
        Tensor v = t.embed_images(images_to_tensor({apply_augment(s.image, data.augment(i, r), static_cast<int>(t.image_size()))}));
        check_fp16_close(row(data.image_embedding(i, r) + col, t.embed()), v.to_vector());
      }
    }
    std::vector<double> e = t.embed_texts(data.samples().captions).to_vector();
    for (uint32_t c = 0; c < data.samples().captions.size(); ++c)
      check_fp16_close(row(data.text_embedding(c) + col, t.embed()),
                       std::vector<double>(e.begin() + c * t.embed(), e.begin() + (c + 1) * t.embed()));
    col += t.embed();
  }
}

TEST_CASE("reinforced: a dataset built from one base dataset is refused with another") {
  const Fixture& f = fixture();
  std::string other = f.root + "/other.tsv";
  std::string rows = kRows;
  rows.replace(rows.find("one moon"), 8, "two moons");  // one caption differs
  write_file(other, rows);
  check_error([&] { ReinforcedData(f.dir, *open_dataset("tsv:" + other), {}); },
              {f.dir, ": built from another base dataset", "captions.tsv", "other.tsv"});
  check_error([&] { ReinforcedData(f.dir, *open_dataset("synthetic"), {}); }, {"built from another base dataset"});
}

TEST_CASE("reinforced: a truncated or damaged file is an error naming it") {
  const Fixture& f = fixture();
  auto base = open_dataset(f.opt.data);
  std::string copy = f.root + "/damaged";
  auto fresh_copy = [&] {
    fs::remove_all(copy);
    fs::copy(f.dir, copy);
  };
  // Truncated shards: cut inside the data, and inside the header.
  for (uint64_t keep : {uint64_t{300}, uint64_t{20}}) {
    fresh_copy();
    fs::resize_file(copy + "/images-00001.safetensors", keep);
    check_error([&] { ReinforcedData(copy, *base, {}); }, {copy + "/images-00001.safetensors"});
  }
  fresh_copy();
  fs::resize_file(copy + "/texts-00000.safetensors", fs::file_size(copy + "/texts-00000.safetensors") - 8);
  check_error([&] { ReinforcedData(copy, *base, {}); }, {copy + "/texts-00000.safetensors"});
  // Damaged values: bytes overwritten near the end of the image data.
  fresh_copy();
  {
    std::string bytes = read_file(copy + "/images-00000.safetensors");
    for (size_t i = bytes.size() - 40; i < bytes.size() - 20; ++i) bytes[i] = static_cast<char>(0x7b);
    write_file(copy + "/images-00000.safetensors", bytes);
  }
  check_error([&] { ReinforcedData(copy, *base, {}); }, {copy + "/images-00000.safetensors", "damaged"});
  // A shard of another place in the dataset.
  fresh_copy();
  fs::copy_file(copy + "/images-00000.safetensors", copy + "/images-00001.safetensors", fs::copy_options::overwrite_existing);
  check_error([&] { ReinforcedData(copy, *base, {}); }, {copy + "/images-00001.safetensors", "metadata"});
  // The index and the sample list.
  fresh_copy();
  write_file(copy + "/index.json", std::string("{\"format\": \"hyperclip-reinforced\", \"vers"));
  check_error([&] { ReinforcedData(copy, *base, {}); }, {copy + "/index.json", "not valid JSON"});
  fresh_copy();
  {
    nlohmann::json j = nlohmann::json::parse(read_file(copy + "/index.json"));
    j["augmentation"]["count"] = 1 << 20;
    write_file(copy + "/index.json", j.dump());
  }
  check_error([&] { ReinforcedData(copy, *base, {}); }, {copy + "/index.json", "'count'"});
  // Counts the shard lists do not back: 2^31 samples in shards of one would plan 2^31 shards
  // (about 100 GB) before comparing them with the two listed; the lists' lengths are checked first.
  fresh_copy();
  {
    nlohmann::json j = nlohmann::json::parse(read_file(copy + "/index.json"));
    j["base"]["rows"] = int64_t{1} << 31;
    j["samples"] = int64_t{1} << 31;
    j["shard_size"] = 1;
    write_file(copy + "/index.json", j.dump());
  }
  check_error([&] { read_reinforced_index(copy); }, {copy + "/index.json", "image_shards listed for 2147483648 samples"});
  fresh_copy();
  {
    nlohmann::json j = nlohmann::json::parse(read_file(copy + "/index.json"));
    j["captions"] = int64_t{1} << 31;
    write_file(copy + "/index.json", j.dump());
  }
  check_error([&] { read_reinforced_index(copy); }, {copy + "/index.json", "text_shards listed for 2147483648 captions"});
  fresh_copy();
  {
    nlohmann::json j = nlohmann::json::parse(read_file(copy + "/samples.json"));
    j["caption_id"][2] = 99;
    write_file(copy + "/samples.json", j.dump());
  }
  check_error([&] { ReinforcedData(copy, *base, {}); }, {copy + "/samples.json", "caption id 99"});
  fresh_copy();
  fs::remove(copy + "/texts-00001.safetensors");
  check_error([&] { ReinforcedData(copy, *base, {}); }, {copy + "/texts-00001.safetensors"});
}

TEST_CASE("reinforce: resumes an interrupted run to the same files, rewrites a damaged shard, refuses another job") {
  const Fixture& f = fixture();
  ReinforceOptions o = f.opt;
  o.out_dir = f.root + "/resumed";
  o.max_shards = 1;
  REQUIRE(run_reinforce(o) == 0);
  CHECK(fs::exists(o.out_dir + "/images-00000.safetensors"));
  CHECK_FALSE(fs::exists(o.out_dir + "/images-00001.safetensors"));
  check_error([&] { ReinforcedData(o.out_dir, *open_dataset(o.data), {}); }, {"incomplete", "run the same"});
  // Damage the written shard: the next run rewrites it, then finishes.
  fs::resize_file(o.out_dir + "/images-00000.safetensors", 100);
  o.max_shards = 0;
  REQUIRE(run_reinforce(o) == 0);
  for (const char* name : {"images-00000.safetensors", "images-00001.safetensors", "texts-00000.safetensors",
                           "texts-00001.safetensors", "samples.json", "index.json"}) {
    CHECK_MESSAGE(read_file(f.dir + "/" + name) == read_file(o.out_dir + "/" + name), name);
  }
  // A complete folder is left alone; a folder of another job is refused.
  REQUIRE(run_reinforce(o) == 0);
  ReinforceOptions other = o;
  other.augmentations = 2;
  check_error([&] { run_reinforce(other); }, {o.out_dir, "another job", "--augmentations (3 vs 2)"});
  other = o;
  other.teachers = {f.teachers[1]};
  check_error([&] { run_reinforce(other); }, {"teachers"});
}

TEST_CASE("reinforce: the command line") {
  const Fixture& f = fixture();
  std::string out = f.root + "/cli";
  RunResult r = run_cli("reinforce --teacher " + f.teachers[0] + " --teacher " + f.teachers[1] + " --data tsv:" + f.tsv +
                        " --augmentations 2 --shard-size 4 --seed 9 --threads 1 -o " + out + " --max-shards 1");
  CHECK(r.status == 0);
  CHECK(r.out.find("stopped after 1 shards") != std::string::npos);
  r = run_cli("reinforce --teacher " + f.teachers[0] + " --teacher " + f.teachers[1] + " --data tsv:" + f.tsv +
              " --augmentations 2 --shard-size 4 --seed 9 --threads 1 -o " + out);
  CHECK(r.status == 0);
  CHECK(r.out.find("resuming an interrupted run") != std::string::npos);
  CHECK(r.out.find("\"complete\":true") != std::string::npos);
  ReinforcedData d(out, *open_dataset("tsv:" + f.tsv), {});
  CHECK(d.dim() == 56);
  CHECK(d.augmentations() == 2);
  // The first teacher's stored views equal the fixture's: the same seed draws the same boxes.
  for (int r2 = 0; r2 < 2; ++r2) CHECK(d.augment(5, r2).box.left == ReinforcedData(f.dir, *open_dataset("tsv:" + f.tsv), {}).augment(5, r2).box.left);
  r = run_cli("reinforce --data tsv:" + f.tsv + " --augmentations 2 -o " + out + "2");
  CHECK(r.status != 0);
  CHECK(r.out.find("--teacher") != std::string::npos);
  r = run_cli("reinforce --teacher " + f.teachers[0] + " --data tsv:" + f.tsv + " --augmentations 0 -o " + out + "2");
  CHECK(r.status != 0);
  CHECK(r.out.find("--augmentations must be in [1, 1024]") != std::string::npos);
  CHECK(run_cli("reinforce --help").out.find("usage: hyperclip reinforce") != std::string::npos);
}
