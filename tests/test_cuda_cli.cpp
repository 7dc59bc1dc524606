// The commands with --device cuda, end to end, against the same commands on the CPU: train (fp32
// and bf16), eval, export and classify. Skipped without a GPU (the refusals without one are
// checked in tests/test_cuda_ops.cpp).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli_runner.h"
#include "tests/data_test_util.h"
#include "tests/cuda_test_util.h"

using namespace hc;
using namespace hc::test;
using hc_test::encode_png;
using hc_test::pattern_image;
using hc_test::write_file;

namespace {

std::string gpu_temp_dir(const std::string& name) {
  std::string d = "/tmp/hyperclip_cuda_cli_" + std::to_string(::getpid()) + "_" + name;
  std::system(("rm -rf " + d + " && mkdir -p " + d).c_str());
  return d;
}

std::vector<double> step_losses(const std::string& metrics) {
  std::ifstream in(metrics);
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  }
  return out;
}

const std::string kTiny =
    "train --image convnet-nano --text text-nano --hyper hyper-nano --image-size 32 --data synthetic "
    "--synthetic-size 64 --batch 8 --set-size 4 --steps 3 --lr 1e-3 --threads 2 --workers 2 --log-every 1 ";

}  // namespace

TEST_CASE("cuda cli: train, eval, export and classify on the GPU agree with the CPU") {
  if (!gpu_or_skip("--device cuda end to end")) return;
  std::string cpu = gpu_temp_dir("cpu"), gpu = gpu_temp_dir("gpu"), bf = gpu_temp_dir("bf16");
  hc_test::RunResult r = hc_test::run_cli(kTiny + "--out " + cpu);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  r = hc_test::run_cli(kTiny + "--device cuda --out " + gpu);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::vector<double> lc = step_losses(cpu + "/metrics.jsonl"), lg = step_losses(gpu + "/metrics.jsonl");
  REQUIRE(lc.size() == 3);
  REQUIRE(lg.size() == 3);
  for (int s = 0; s < 3; ++s) {
    CAPTURE(s);
    // Three steps of float32 training in two summation orders: the losses agree to ~1e-5.
    CHECK(std::fabs(lg[s] - lc[s]) <= 1e-4 * std::max(1.0, std::fabs(lc[s])));
  }
  r = hc_test::run_cli(kTiny + "--device cuda --precision bf16 --out " + bf);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::vector<double> lb = step_losses(bf + "/metrics.jsonl");
  REQUIRE(lb.size() == 3);
  CHECK(std::fabs(lb[0] - lc[0]) <= 2e-2 * std::max(1.0, std::fabs(lc[0])));  // bf16 products

  // eval of the GPU-trained checkpoint on both devices: the same accuracy up to one or two ties.
  std::string ck = gpu + "/last.safetensors";
  auto top1 = [&](const std::string& device) {
    hc_test::RunResult e = hc_test::run_cli("eval --ckpt " + ck + " --data synthetic:shape --max-samples 64 --device " +
                                            device, false);
    REQUIRE_MESSAGE(e.status == 0, e.out);
    return nlohmann::json::parse(e.out.substr(0, e.out.find('\n')))["top1"].get<double>();
  };
  CHECK(std::fabs(top1("cuda") - top1("cpu")) <= 2.0 / 64);

  // export on the GPU gives the classifier the CPU export gives; classify on the GPU agrees.
  std::string classes = gpu + "/classes.txt";
  std::ofstream(classes) << "circle\nsquare\ntriangle\n";
  REQUIRE(hc_test::run_cli("export --ckpt " + ck + " --classes " + classes + " -o " + gpu + "/c_gpu.safetensors --device cuda").status == 0);
  REQUIRE(hc_test::run_cli("export --ckpt " + ck + " --classes " + classes + " -o " + gpu + "/c_cpu.safetensors").status == 0);
  std::system(("mkdir -p " + gpu + "/imgs").c_str());
  for (int k = 0; k < 4; ++k)
    write_file(gpu + "/imgs/p" + std::to_string(k) + ".png", encode_png(pattern_image(40, 36, k)));
  auto classify = [&](const std::string& model, const std::string& device) {
    hc_test::RunResult c = hc_test::run_cli("classify --model " + model + " --json --topk 3 --device " + device + " " +
                                            gpu + "/imgs", false);
    REQUIRE_MESSAGE(c.status == 0, c.out);
    std::vector<nlohmann::json> rows;
    size_t at = 0;
    for (size_t nl; (nl = c.out.find('\n', at)) != std::string::npos; at = nl + 1)
      rows.push_back(nlohmann::json::parse(c.out.substr(at, nl - at)));
    return rows;
  };
  std::vector<nlohmann::json> ref = classify(gpu + "/c_cpu.safetensors", "cpu");
  for (const std::string& model : {gpu + "/c_cpu.safetensors", gpu + "/c_gpu.safetensors"}) {
    CAPTURE(model);
    std::vector<nlohmann::json> got = classify(model, "cuda");
    REQUIRE(got.size() == ref.size());
    REQUIRE(ref.size() == 4);
    for (size_t i = 0; i < ref.size(); ++i)
      for (size_t t = 0; t < 3; ++t)
        CHECK(std::fabs(got[i]["top"][t]["prob"].get<double>() - ref[i]["top"][t]["prob"].get<double>()) <= 1e-4);
  }
  std::system(("rm -rf " + cpu + " " + gpu + " " + bf).c_str());
}
