// The training command end to end, as a user runs it: metrics, checkpoints, exact resumption,
// a diverging run stopped with its last checkpoint intact, and bad checkpoints refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "tests/cli_runner.h"
#include "tests/data_test_util.h"
#include "data/npy.h"
#include "train/checkpoint.h"

using namespace hc;
using namespace hc_test;

namespace {

using Run = hc_test::RunResult;
Run cli(const std::string& args, bool with_stderr = true) { return hc_test::run_cli(args, with_stderr); }

std::string temp_dir(const std::string& name) {
  std::string d = "/tmp/hyperclip_train_test_" + std::to_string(::getpid()) + "_" + name;
  std::system(("rm -rf " + d + " && mkdir -p " + d).c_str());
  return d;
}

// The step losses of a metrics file, by step.
std::vector<std::pair<int64_t, double>> losses(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::pair<int64_t, double>> out;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.emplace_back(j["step"].get<int64_t>(), j["loss"].get<double>());
  }
  return out;
}

// A small, fast configuration on the built-in synthetic data.
const std::string kSmall =
    "--image convnet-nano --text text-nano --hyper hyper-nano --image-size 32 --data synthetic "
    "--synthetic-size 256 --batch 8 --lr 1e-3 --threads 2 --workers 2 --log-every 1 ";

int64_t info_embed(const std::string& ck) { return read_checkpoint_info(ck).config.embed; }

double max_abs(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.to_vector(), y = b.to_vector();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

}  // namespace

TEST_CASE("train: metrics, checkpoints and bit-exact resumption") {
  std::string a = temp_dir("full"), b = temp_dir("resumed");
  Run full = cli("train " + kSmall + "--steps 6 --ckpt-every 3 --seed 4 --out " + a);
  REQUIRE_MESSAGE(full.status == 0, full.out);
  CHECK(full.out.find("step 6/6") != std::string::npos);  // progress lines
  CHECK(full.out.find("ETA") != std::string::npos);
  auto la = losses(a + "/metrics.jsonl");
  REQUIRE(la.size() == 6);
  Checkpoint info = read_checkpoint_info(a + "/last.safetensors");
  CHECK(info.state.step == 6);
  CHECK(info.tokenizer.vocab_size() == info.config.vocab);
  CHECK(info.config.mode == Mode::Hyper);

  Run resumed = cli("train " + kSmall + "--steps 6 --ckpt-every 3 --seed 4 --out " + b + " --resume " + a +
                    "/step_000003.safetensors");
  REQUIRE_MESSAGE(resumed.status == 0, resumed.out);
  auto lb = losses(b + "/metrics.jsonl");
  REQUIRE(lb.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(lb[i].first == la[3 + i].first);
    CHECK(lb[i].second == la[3 + i].second);  // bit for bit
  }
  // The same seed and thread count give the same losses from the start as well.
  std::string c = temp_dir("again");
  REQUIRE(cli("train " + kSmall + "--steps 3 --seed 4 --warmup 0 --out " + c).status == 0);
  std::string d = temp_dir("again2");
  REQUIRE(cli("train " + kSmall + "--steps 3 --seed 4 --warmup 0 --out " + d).status == 0);
  CHECK(losses(c + "/metrics.jsonl") == losses(d + "/metrics.jsonl"));
  std::system(("rm -rf " + a + " " + b + " " + c + " " + d).c_str());
}

TEST_CASE("train: a diverging run stops and leaves the last good checkpoint intact") {
  std::string a = temp_dir("nan");
  std::string args = kSmall;
  args.replace(args.find("--lr 1e-3 "), 10, "--lr 1e12 ");  // options may be given only once
  Run r = cli("train " + args + "--steps 20 --warmup 0 --clip 0 --ckpt-every 1 --out " + a);
  CHECK(r.status == 3);
  CHECK(r.out.find("training stopped at step") != std::string::npos);
  CHECK(r.out.find("is intact") != std::string::npos);
  Checkpoint info = read_checkpoint_info(a + "/last.safetensors");  // still readable
  CHECK(info.state.step >= 1);
  std::system(("rm -rf " + a).c_str());
}

TEST_CASE("train and eval: bad checkpoints and options are clear errors") {
  std::string a = temp_dir("bad");
  REQUIRE(cli("train " + kSmall + "--steps 1 --out " + a).status == 0);
  // Another configuration.
  Run r = cli("train --image vit-nano --text text-nano --hyper hyper-nano --image-size 32 --data synthetic "
              "--synthetic-size 256 --batch 8 --steps 2 --out " + a + "/other --resume " + a + "/last.safetensors");
  CHECK(r.status != 0);
  CHECK(r.out.find("another configuration") != std::string::npos);
  // A truncated checkpoint.
  std::string ck = a + "/last.safetensors";
  std::ifstream in(ck, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(a + "/cut.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  r = cli("eval --ckpt " + a + "/cut.safetensors --data synthetic:shape --max-samples 16");
  CHECK(r.status != 0);
  CHECK(r.out.find("cut.safetensors") != std::string::npos);
  CHECK(r.out.find("truncated") != std::string::npos);
  // Not a checkpoint at all.
  std::ofstream(a + "/junk.safetensors") << "hello";
  r = cli("eval --ckpt " + a + "/junk.safetensors --data synthetic:shape");
  CHECK(r.status != 0);
  CHECK(r.out.find("junk.safetensors") != std::string::npos);
  // Evaluation of the good one prints one JSON line with top1, top5, n.
  r = cli("eval --ckpt " + ck + " --data synthetic:color --max-samples 32 --batch 16");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["n"].get<int64_t>() == 32);
  CHECK(j["top1"].get<double>() >= 0);
  CHECK(j["top5"].get<double>() >= j["top1"].get<double>());
  // Several --data: one line each, in order. A single-value option given twice is refused, not
  // silently reduced to its last value.
  r = cli("eval --ckpt " + ck + " --data synthetic:color --data synthetic:shape --max-samples 16", false);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  size_t nl = r.out.find('\n');
  REQUIRE(nl != std::string::npos);
  CHECK(nlohmann::json::parse(r.out.substr(0, nl))["data"] == "synthetic:color");
  CHECK(nlohmann::json::parse(r.out.substr(nl + 1))["data"] == "synthetic:shape");
  r = cli("eval --ckpt " + ck + " --data synthetic:color --batch 8 --batch 16");
  CHECK(r.status != 0);
  CHECK(r.out.find("option --batch given 2 times") != std::string::npos);
  // Embeddings of texts and images as .npy, one row per input, unit length.
  std::ofstream(a + "/texts.txt") << "a red star\ntwo small blue circles\nthree crosses\n";
  r = cli("embed --ckpt " + ck + " --texts " + a + "/texts.txt -o " + a + "/t.npy");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  Tensor te = read_npy(a + "/t.npy");
  CHECK(te.shape() == Shape{3, info_embed(ck)});
  r = cli("embed --ckpt " + ck + " --images synthetic:count --batch 500 -o " + a + "/i.npy");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::vector<double> ie = read_npy(a + "/i.npy").to_vector();
  double norm = 0;
  for (int k = 0; k < info_embed(ck); ++k) norm += ie[k] * ie[k];
  CHECK(norm == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(cli("embed --ckpt " + ck + " -o " + a + "/x.npy").status != 0);  // neither images nor texts
  // Options.
  CHECK(cli("train " + kSmall + "--out " + a + "/x").status != 0);  // neither --steps nor --epochs
  r = cli("train " + kSmall + "--steps 1 --batch 1 --out " + a + "/x");
  CHECK(r.status != 0);
  r = cli("train " + kSmall + "--steps 1 --device cuda --out " + a + "/x");
  CHECK(r.status != 0);
  CHECK(r.out.find("cuda") != std::string::npos);
  std::system(("rm -rf " + a).c_str());
}

TEST_CASE("train and eval on your own images: a captions TSV and a class folder, one bad image") {
  std::string root = temp_dir("own");
  std::system(("mkdir -p " + root + "/imgs " + root + "/test/red_square " + root + "/test/blue_circle").c_str());
  std::ofstream tsv(root + "/captions.tsv");
  for (int i = 0; i < 12; ++i) {
    bool red = i % 2 == 0;
    std::string name = "imgs/" + std::to_string(i) + ".png";
    write_file(root + "/" + name, encode_png(solid_image(40, 30, red ? 200 : 20, 30, red ? 20 : 200)));
    tsv << name << "\t" << (red ? "a red square" : "a blue circle") << "\n";
    write_file(root + "/test/" + (red ? "red_square/" : "blue_circle/") + std::to_string(i) + ".png",
               encode_png(solid_image(32, 32, red ? 200 : 20, 30, red ? 20 : 200)));
  }
  write_file(root + "/imgs/broken.png", std::string("not a png"));
  tsv << "imgs/broken.png\ta broken picture\n";
  tsv.close();
  Run r = cli("train --image convnet-nano --image-size 32 --text text-nano --hyper none --data tsv:" + root +
              "/captions.tsv --eval-data folder:" + root + "/test --steps 3 --batch 6 --threads 2 --out " + root + "/run");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(r.out.find("broken.png") != std::string::npos);  // skipped and reported
  CHECK(r.out.find("eval folder:") != std::string::npos);
  r = cli("eval --ckpt " + root + "/run/last.safetensors --data folder:" + root + "/test");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["n"].get<int64_t>() == 12);
  // Export a standalone classifier and classify the test folder with it.
  std::ofstream(root + "/classes.txt") << "red square\nblue circle\n";
  r = cli("export --ckpt " + root + "/run/last.safetensors --classes " + root + "/classes.txt -o " + root + "/clf.safetensors");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(nlohmann::json::parse(r.out)["folded_batch_norms"].get<bool>());
  write_file(root + "/test/red_square/zz_broken.png", std::string("garbage"));
  r = cli("classify --model " + root + "/clf.safetensors --json --topk 2 " + root + "/test/red_square " + root +
          "/test/blue_circle");
  CHECK(r.status == 1);  // the broken image is reported, the others classified
  CHECK(r.out.find("zz_broken.png") != std::string::npos);
  int lines = 0;
  for (size_t at = 0; (at = r.out.find("{\"image\"", at)) != std::string::npos; ++at) {
    nlohmann::json j = nlohmann::json::parse(r.out.substr(at, r.out.find('\n', at) - at));
    REQUIRE(j["top"].size() == 2);
    double soft = j["top"][0]["softmax"].get<double>() + j["top"][1]["softmax"].get<double>();
    CHECK(soft == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(j["top"][0]["prob"].get<double>() >= 0);
    CHECK(j["top"][0]["prob"].get<double>() <= 1);
    ++lines;
  }
  CHECK(lines == 12);
  // Encoders for embedding use: the same embeddings as from the checkpoint.
  std::system(("rm -f " + root + "/test/red_square/zz_broken.png").c_str());
  std::ofstream(root + "/q.txt") << "a red square\na blue circle\n";
  REQUIRE(cli("export --ckpt " + root + "/run/last.safetensors --image-only -o " + root + "/img.safetensors").status == 0);
  REQUIRE(cli("export --ckpt " + root + "/run/last.safetensors --text-only -o " + root + "/txt.safetensors").status == 0);
  REQUIRE(cli("embed --model " + root + "/img.safetensors --images folder:" + root + "/test -o " + root + "/a.npy").status == 0);
  REQUIRE(cli("embed --ckpt " + root + "/run/last.safetensors --images folder:" + root + "/test -o " + root + "/b.npy").status == 0);
  REQUIRE(cli("embed --model " + root + "/txt.safetensors --texts " + root + "/q.txt -o " + root + "/c.npy").status == 0);
  REQUIRE(cli("embed --ckpt " + root + "/run/last.safetensors --texts " + root + "/q.txt -o " + root + "/d.npy").status == 0);
  CHECK(read_npy(root + "/a.npy").shape() == Shape{12, info_embed(root + "/run/last.safetensors")});
  CHECK(max_abs(read_npy(root + "/a.npy"), read_npy(root + "/b.npy")) < 1e-5);  // folded BN = BN in eval mode
  CHECK(max_abs(read_npy(root + "/c.npy"), read_npy(root + "/d.npy")) == 0);
  r = cli("classify --model " + root + "/img.safetensors " + root + "/test");
  CHECK(r.status != 0);
  CHECK(r.out.find("holds no classes") != std::string::npos);
  // A folder of class folders is classified whole, in path order; a folder without images is refused.
  r = cli("classify --model " + root + "/clf.safetensors --json --topk 1 " + root + "/test");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::vector<std::string> seen;
  for (size_t at = 0; (at = r.out.find("{\"image\"", at)) != std::string::npos; ++at)
    seen.push_back(nlohmann::json::parse(r.out.substr(at, r.out.find('\n', at) - at))["image"].get<std::string>());
  CHECK(seen.size() == 12);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(seen.front().find("/test/blue_circle/") != std::string::npos);
  CHECK(seen.back().find("/test/red_square/") != std::string::npos);
  std::system(("mkdir -p " + root + "/no_images/sub").c_str());
  r = cli("classify --model " + root + "/clf.safetensors " + root + "/no_images");
  CHECK(r.status != 0);
  CHECK(r.out.find("no_images: no PNG or JPEG image") != std::string::npos);
  // --on-corrupt fail stops at the broken image and names it.
  r = cli("train --image convnet-nano --image-size 32 --text text-nano --hyper none --data tsv:" + root +
          "/captions.tsv --steps 3 --batch 6 --threads 2 --on-corrupt fail --out " + root + "/run2");
  CHECK(r.status != 0);
  CHECK(r.out.find("broken.png") != std::string::npos);
  std::system(("rm -rf " + root).c_str());
}
