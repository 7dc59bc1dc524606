// Task-shaped sets and the conditioning diagnostic as a user runs them (docs/hypernetwork.md):
// train --set-size S --set-sampling group on a TSV with a group column (exact resumption, the
// diagnostic in metrics.jsonl), eval --task-split FILE|group and eval --diagnose, hyperclip groups
// (clusters of caption embeddings for data without groups), eval --swap-test, and their errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/random.h"
#include "infer/caption_groups.h"
#include "tests/cli_runner.h"
#include "tests/data_test_util.h"

using namespace hc_test;
using json = nlohmann::json;

namespace {

RunResult cli(const std::string& args, bool with_stderr = true) { return run_cli(args, with_stderr); }

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line[0] == '{') out.push_back(json::parse(line));
    at = end + 1;
  }
  return out;
}

std::vector<json> metrics(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  return jsonl(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
}

// 36 captioned images in 3 groups (TSV with a header), and a two-level test folder of 6 classes.
struct GroupedData {
  TempDir dir{"conditioning_cli"};
  GroupedData() {
    const char* groups[3] = {"animals", "food", "travel"};
    const char* names[3][2] = {{"cat", "dog"}, {"pear", "plum"}, {"car", "boat"}};
    std::ofstream tsv(dir / "train.tsv");
    tsv << "path\tcaption\tgroup\n";
    for (int i = 0; i < 36; ++i) {
      int g = i % 3, c = (i / 3) % 2;
      std::string img = "img/" + std::to_string(i) + ".png";
      write_file(dir / img, encode_png(pattern_image(24, 24, i)));
      tsv << img << "\ta " << (i % 4 ? "small " : "big ") << names[g][c] << "\t" << groups[g] << "\n";
    }
    std::ofstream split(dir / "split.tsv");
    for (int g = 0; g < 3; ++g)
      for (int c = 0; c < 2; ++c) {
        for (int k = 0; k < 2; ++k)
          write_file(dir / (std::string("test/") + groups[g] + "/" + names[g][c] + "/" + std::to_string(k) + ".png"),
                     encode_png(pattern_image(24, 24, 100 + 10 * g + 3 * c + k)));
        split << names[g][c] << "\t" << groups[g] << "\n";
      }
  }
  std::string train_args(const std::string& extra = "") const {
    return "train --image convnet-nano --image-size 32 --text text-nano --hyper hyper-nano --context 16 --vocab 300 "
           "--data tsv:" + dir / "train.tsv" + " --eval-data folder:" + dir / "test" +
           " --batch 8 --set-size 4 --lr 1e-3 --threads 2 --workers 2 --log-every 1 " + extra;
  }
};

}  // namespace

TEST_CASE("train --set-sampling group: sets from one group, the diagnostic at each evaluation, exact resume") {
  GroupedData d;
  std::string a = d.dir / "full", b = d.dir / "resumed";
  RunResult full = cli(d.train_args("--set-sampling group --diag-sets 3 --steps 6 --eval-every 3 --ckpt-every 3 --seed 2 --out " + a));
  REQUIRE_MESSAGE(full.status == 0, full.out);
  CHECK(full.out.find("set sampling: column 'group' of tsv:") != std::string::npos);
  CHECK(full.out.find("3 groups (smallest 12, largest 12 samples); 9 sets of 4 per epoch, 0 of them pooled") !=
        std::string::npos);
  CHECK(full.out.find("conditioning diagnostic: 3 sets of 4 training captions, one group each") != std::string::npos);
  std::vector<json> m = metrics(a);
  std::vector<json> diags, losses;
  for (const json& j : m) {
    if (j.contains("diag")) diags.push_back(j);
    if (j.contains("loss")) losses.push_back(j);
  }
  REQUIRE(diags.size() == 2);  // steps 3 and 6
  CHECK(diags[0]["step"] == 3);
  CHECK(diags[1]["step"] == 6);
  const json& g = diags[1];
  CHECK(g["sets"] == 3);
  CHECK(g["set_size"] == 4);
  CHECK(g["gen_rms"].get<double>() > 0);  // the output layer has left zero after 6 steps
  CHECK(g["train_spread"].get<double>() > 0);
  CHECK(g["train_spread_rel"].get<double>() == doctest::Approx(g["train_spread"].get<double>() / g["gen_rms"].get<double>()));
  CHECK(g["tasks"].contains("folder:" + d.dir / "test"));
  CHECK(g["task_pairs"] == 0);  // one evaluation task
  REQUIRE(g["trace"].size() == 8);
  CHECK(g["trace"][0]["stage"] == "input");
  CHECK(g["trace"][7]["stage"] == "output");
  CHECK(g["trace"][0]["within"].get<double>() > 0);  // captions of a set differ
  // Resumed from step 3: the same losses bit for bit.
  RunResult resumed = cli(d.train_args("--set-sampling group --diag-sets 3 --steps 6 --eval-every 3 --ckpt-every 3 --seed 2 --out " + b +
                                       " --resume " + a + "/step_000003.safetensors"));
  REQUIRE_MESSAGE(resumed.status == 0, resumed.out);
  std::vector<json> rb;
  for (const json& j : metrics(b))
    if (j.contains("loss")) rb.push_back(j);
  REQUIRE(rb.size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(rb[i]["loss"].get<double>() == losses[3 + i]["loss"].get<double>());
  // Random sets of the same size on the same data see other batches.
  std::string c = d.dir / "random";
  REQUIRE(cli(d.train_args("--steps 3 --seed 2 --diag-sets 0 --out " + c)).status == 0);
  std::vector<json> rc;
  for (const json& j : metrics(c))
    if (j.contains("loss")) rc.push_back(j);
  CHECK(rc[1]["loss"].get<double>() != losses[1]["loss"].get<double>());
  for (const json& j : metrics(c)) CHECK_FALSE(j.contains("diag"));  // --diag-sets 0: off

  // Errors: group sampling needs sets and groups.
  RunResult r = cli("train --image convnet-nano --text text-nano --hyper hyper-nano --data synthetic --steps 1 --batch 8 "
                    "--set-sampling group --out " + d.dir / "x");
  CHECK(r.status != 0);
  CHECK(r.out.find("--set-sampling group needs --set-size S") != std::string::npos);
  r = cli(d.train_args("--set-sampling group --group-column colour --steps 1 --out " + d.dir / "y"));
  CHECK(r.status != 0);
  CHECK(r.out.find("has no groups for --set-sampling group") != std::string::npos);
  r = cli(d.train_args("--set-sampling blocks --steps 1 --out " + d.dir / "z"));
  CHECK(r.status != 0);
  CHECK(r.out.find("--set-sampling expects random or group") != std::string::npos);
}

TEST_CASE("eval --task-split and --diagnose: per-group tasks, their generated parameters, the trace") {
  GroupedData d;
  std::string run = d.dir / "run";
  REQUIRE(cli(d.train_args("--set-sampling group --steps 4 --seed 1 --out " + run)).status == 0);
  std::string ck = run + "/last.safetensors", test = "folder:" + d.dir / "test";
  RunResult r = cli("eval --ckpt " + ck + " --data " + test + " --task-split group --diagnose --trace-fresh", false);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::vector<json> lines = jsonl(r.out);
  REQUIRE(lines.size() == 3);  // the whole task, the split, the diagnostic
  CHECK(lines[0]["n"] == 12);
  const json& split = lines[1];
  CHECK(split["task_split"] == "group");
  REQUIRE(split["tasks"].size() == 3);
  double mean = 0;
  for (const json& t : split["tasks"]) {
    CHECK(t["classes"] == 2);
    CHECK(t["n"] == 4);
    CHECK(t["top5"] == 1.0);  // two classes per task
    mean += t["top1"].get<double>() / 3;
  }
  CHECK(split["tasks"][0]["task"] == "animals");
  CHECK(split["mean_top1"].get<double>() == doctest::Approx(mean));
  const json& diag = lines[2];
  CHECK(diag["diag"] == "conditioning");
  CHECK(diag["tasks"].size() == 4);  // the whole task and its three groups
  CHECK(diag["task_pairs"] == 6);
  CHECK(diag["task_pairwise_mean"].get<double>() > 0);  // different class sets, different parameters
  CHECK(diag["trace_fresh"].size() == 8);
  // The same split from a file gives the same scores.
  RunResult f = cli("eval --ckpt " + ck + " --data " + test + " --task-split " + d.dir / "split.tsv", false);
  REQUIRE_MESSAGE(f.status == 0, f.out);
  CHECK(jsonl(f.out)[1]["tasks"] == split["tasks"]);

  // The set-swap test replays the first training batches (8 images: 2 sets of 4, one group each).
  r = cli("eval --ckpt " + ck + " --swap-test --swap-batches 3", false);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  json sw = jsonl(r.out).back();
  CHECK(sw["diag"] == "set_swap");
  CHECK(sw["batches"] == 3);
  CHECK(sw["images"] == 24);
  CHECK(sw["sets_per_batch"] == 2);
  CHECK(sw["swappable"] == true);
  CHECK(sw["loss_own"].get<double>() > 0);
  CHECK(sw["loss_swapped"].get<double>() > 0);
  CHECK(sw["set_top1_swapped"].get<double>() + sw["follows_params"].get<double>() <= 1.0);
  r = cli("eval --ckpt " + ck + " --swap-test --swap-batches 0");
  CHECK(r.status != 0);
  CHECK(r.out.find("--swap-batches must be positive, got 0") != std::string::npos);

  // Token mode: no text reaches the hypernetwork, so nothing moves the generated parameters.
  std::string tok = d.dir / "token";
  REQUIRE(cli(d.train_args("--mode token --steps 2 --seed 1 --out " + tok)).status == 0);
  r = cli("eval --ckpt " + tok + "/last.safetensors --data " + test + " --task-split group --diagnose", false);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  json t = jsonl(r.out).back();
  CHECK(t["gen_rms"].get<double>() > 0);
  CHECK(t["train_spread"].get<double>() < 1e-12);  // the mean of equal rows, up to rounding
  CHECK(t["task_pairwise_max"] == 0.0);
  CHECK(t["random_from_train"].get<double>() < 1e-12);
  r = cli("eval --ckpt " + tok + "/last.safetensors --swap-test --swap-batches 1", false);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(jsonl(r.out).back()["swappable"] == false);
  CHECK(jsonl(r.out).back()["follows_params"].is_null());

  // The baseline scores the same split; it has nothing to diagnose.
  std::string base = d.dir / "base";
  std::string args = d.train_args("--steps 2 --out " + base);
  args.replace(args.find("--hyper hyper-nano"), 18, "--hyper none");
  REQUIRE(cli(args).status == 0);
  r = cli("eval --ckpt " + base + "/last.safetensors --data " + test + " --task-split group", false);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(jsonl(r.out)[1]["tasks"].size() == 3);
  // A checkpoint trained without sets has nothing to swap.
  std::string noset = d.dir / "noset";
  std::string na = d.train_args("--steps 1 --out " + noset);
  na.replace(na.find("--set-size 4 "), 13, "");
  REQUIRE(cli(na).status == 0);
  r = cli("eval --ckpt " + noset + "/last.safetensors --swap-test");
  CHECK(r.status != 0);
  CHECK(r.out.find("--swap-test needs a checkpoint trained with --set-size") != std::string::npos);
  r = cli("eval --ckpt " + base + "/last.safetensors --data " + test + " --diagnose");
  CHECK(r.status != 0);
  CHECK(r.out.find("--diagnose needs a HyperCLIP checkpoint") != std::string::npos);
  // A one-level folder has no groups to split by.
  r = cli("eval --ckpt " + ck + " --data folder:" + d.dir / "test/food --task-split group");
  CHECK(r.status != 0);
  CHECK(r.out.find("--task-split group needs a folder laid out DIR/<group>/<class>/") != std::string::npos);
}

TEST_CASE("spherical k-means: recovers separated directions, the same result from the same seed") {
  // 3 directions in 6 dims, 20 noisy unit rows around each, interleaved.
  const int64_t n = 60, E = 6;
  hc::Generator g(3);
  std::vector<double> x;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> row(E);
    for (int64_t j = 0; j < E; ++j) row[j] = 0.1 * g.normal() + (j == 2 * (i % 3) ? 1.0 : 0.0);
    double s = 0;
    for (double v : row) s += v * v;
    for (double& v : row) x.push_back(v / std::sqrt(s));
  }
  hc::KMeansResult r = hc::spherical_kmeans(x, n, E, 3, 7);
  CHECK(r.converged);
  CHECK(r.sizes == std::vector<int64_t>{20, 20, 20});
  for (int64_t i = 3; i < n; ++i) CHECK(r.cluster[i] == r.cluster[i % 3]);  // same direction, same cluster
  CHECK(r.cluster[0] != r.cluster[1]);
  CHECK(r.cluster[1] != r.cluster[2]);
  CHECK(r.cluster[0] != r.cluster[2]);
  CHECK(hc::spherical_kmeans(x, n, E, 3, 7).cluster == r.cluster);
  CHECK_THROWS_WITH_AS(hc::spherical_kmeans(x, 2, E, 3, 7), doctest::Contains("2 rows for 3 clusters"), hc::Error);
}

TEST_CASE("hyperclip groups: a TSV grouped by clusters of caption embeddings trains with group sampling") {
  GroupedData d;
  std::string ref = d.dir / "ref";
  std::string args = d.train_args("--steps 1 --diag-sets 0 --out " + ref);
  args.replace(args.find("--hyper hyper-nano"), 18, "--hyper none");
  REQUIRE(cli(args).status == 0);
  std::string out = d.dir / "sub/clustered.tsv";  // another folder: paths are rewritten
  std::filesystem::create_directories(d.dir / "sub");
  RunResult r = cli("groups --ckpt " + ref + "/last.safetensors --data tsv:" + d.dir / "train.tsv" +
                    " --clusters 3 --seed 1 -o " + out, false);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  json j = json::parse(r.out);
  CHECK(j["rows"] == 36);
  CHECK(j["clusters"] == 3);
  int64_t total = 0;
  for (const json& s : j["sizes"]) total += s.get<int64_t>();
  CHECK(total == 36);
  // The same rows in order, each caption with one cluster; the same caption always in the same one.
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  CHECK(line == "path\tcaption\tgroup");
  std::map<std::string, std::string> cluster_of;
  int rows = 0;
  while (std::getline(in, line)) {
    size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    CHECK(line.substr(0, t1) == "../img/" + std::to_string(rows) + ".png");
    auto [it, added] = cluster_of.emplace(line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1));
    CHECK(it->second == line.substr(t2 + 1));
    ++rows;
  }
  CHECK(rows == 36);
  std::string again = d.dir / "again.tsv";
  REQUIRE(cli("groups --ckpt " + ref + "/last.safetensors --data tsv:" + d.dir / "train.tsv" + " --clusters 3 --seed 1 -o " +
              again, false).status == 0);
  std::ifstream a(out), b(again);
  std::string la, lb;
  std::getline(a, la);
  std::getline(b, lb);
  std::vector<std::string> ca, cb;
  while (std::getline(a, la) && std::getline(b, lb)) {
    ca.push_back(la.substr(la.rfind('\t')));
    cb.push_back(lb.substr(lb.rfind('\t')));
  }
  CHECK(ca == cb);  // the same clusters from the same seed
  // Trainable with group sampling (sets of 2 fit even small clusters).
  std::string targs = d.train_args("--set-sampling group --steps 1 --diag-sets 0 --out " + d.dir / "clustered");
  targs.replace(targs.find("--data tsv:" + d.dir / "train.tsv"), 11 + (d.dir / "train.tsv").size(), "--data tsv:" + out);
  targs.replace(targs.find("--set-size 4"), 12, "--set-size 2");
  r = cli(targs);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(r.out.find("set sampling: column 'group' of tsv:" + out + "; 3 groups") != std::string::npos);
  // Only captions TSVs.
  r = cli("groups --ckpt " + ref + "/last.safetensors --data folder:" + d.dir / "test --clusters 3 -o " + again);
  CHECK(r.status != 0);
  CHECK(r.out.find("reads a captions TSV") != std::string::npos);
}
