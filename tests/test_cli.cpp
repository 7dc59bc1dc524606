// The command line: build/hyperclip run as a user would (the Makefile passes its path in
// HYPERCLIP_BIN).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "models/hyperclip.h"
#include "tests/cli_runner.h"

using namespace hc;
using hc_test::RunResult;
using hc_test::run_cli;

TEST_CASE("cli: params prints the counts for every preset combination") {
  for (const std::string& image : image_preset_names())
    for (const std::string& text : text_preset_names())
      for (const std::string& hyper : {std::string("none"), std::string("hyper-nano"), std::string("hyper-base")}) {
        CAPTURE(image + " " + text + " " + hyper);
        RunResult r = run_cli("params --image " + image + " --text " + text + " --hyper " + hyper +
                              " --vocab 8192 --embed 128");
        REQUIRE(r.status == 0);
        nlohmann::json j = nlohmann::json::parse(r.out);
        CHECK(j["total"].get<int64_t>() ==
              j["image"].get<int64_t>() + j["text"].get<int64_t>() + j["hyper"].get<int64_t>() + 2);
        CHECK(j["image"].get<int64_t>() > 0);
        CHECK(j["text"].get<int64_t>() > 0);
        CHECK((hyper == "none") == (j["hyper"].get<int64_t>() == 0));
      }
}

TEST_CASE("cli: params counts a generated-layer subset's smaller hypernetwork output") {
  auto hyper_params = [](const std::string& extra) {
    RunResult r = run_cli("params --image convnet-nano --text text-nano --hyper hyper-nano" + extra);
    REQUIRE(r.status == 0);
    return nlohmann::json::parse(r.out)["hyper"].get<int64_t>();
  };
  // Only the output layer (bottleneck B = 64 -> P) depends on the subset: P = 2 x channels.
  int64_t all = hyper_params(""), last1 = hyper_params(" --generated-layers last:1");
  HyperClip m([] {
    ModelConfig c;
    c.image = image_preset("convnet-nano");
    c.text = text_preset("text-nano");
    c.hyper = hyper_preset("hyper-nano");
    c.embed = 128;
    return c;
  }());
  const int64_t head = m.visual->generated_norms().back()->channels, P = m.generated_size();
  CHECK(all - last1 == (64 + 1) * (P - 2 * head));
  RunResult r = run_cli("params --image convnet-nano --text text-nano --hyper none --generated-layers last:1");
  CHECK(r.status != 0);
  CHECK(r.out.find("--generated-layers needs a hypernetwork") != std::string::npos);
  r = run_cli("params --image convnet-nano --text text-nano --hyper hyper-nano --generated-layers last:x");
  CHECK(r.status != 0);
  CHECK(r.out.find("generated layers 'last:x': expected all, first:N or last:N") != std::string::npos);
}

TEST_CASE("cli: errors go to stderr with a non-zero exit") {
  RunResult r = run_cli("params --image convnet-xl --text text-nano --hyper none");
  CHECK(r.status != 0);
  CHECK(r.out.find("unknown image preset 'convnet-xl'") != std::string::npos);
  r = run_cli("params --image convnet-nano --text text-nano");
  CHECK(r.status != 0);
  CHECK(r.out.find("missing required option --hyper") != std::string::npos);
  r = run_cli("params --image convnet-nano --text text-nano --hyper none --vocab lots");
  CHECK(r.status != 0);
  CHECK(r.out.find("--vocab expects an integer") != std::string::npos);
  r = run_cli("frobnicate");
  CHECK(r.status != 0);
  r = run_cli("params --help");
  CHECK(r.status == 0);
  CHECK(r.out.find("usage: hyperclip params") != std::string::npos);
}

TEST_CASE("cli: bench prints one JSON line, reproducibly, and refuses bad options") {
  const std::string args = "bench --config cpu-convnet --batch 4 --steps 2 --warmup 1 --threads 2";
  RunResult a = run_cli(args, false), b = run_cli(args, false);
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  nlohmann::json ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  for (const char* k : {"images_per_s", "step_ms", "peak_rss_mb", "peak_tensor_mb", "model_gflops_per_image",
                        "peak_gflops", "mfu"}) {
    CAPTURE(k);
    CHECK(ja[k].get<double>() > 0);
  }
  CHECK(ja["batch"] == 4);
  CHECK(ja["mode"] == "hyper");
  CHECK(ja["mfu"].get<double>() == doctest::Approx(ja["model_gflops_per_image"].get<double>() *
                                                   ja["images_per_s"].get<double>() / ja["peak_gflops"].get<double>()));
  // Same seed, same threads: the same losses to the last bit, and the same FLOP count.
  CHECK(ja["final_loss"].get<double>() == jb["final_loss"].get<double>());
  CHECK(ja["model_gflops_per_image"].get<double>() == jb["model_gflops_per_image"].get<double>());
  // The baseline has no hypernetwork: fewer FLOPs per image.
  RunResult base = run_cli("bench --config cpu-convnet --mode baseline --batch 4 --steps 1 --warmup 0", false);
  REQUIRE(base.status == 0);
  CHECK(nlohmann::json::parse(base.out)["model_gflops_per_image"].get<double>() <
        ja["model_gflops_per_image"].get<double>());

  RunResult bad = run_cli("bench --config cpu-resnet");
  CHECK(bad.status != 0);
  CHECK(bad.out.find("unknown --config 'cpu-resnet'") != std::string::npos);
  RunResult prec = run_cli("bench --config cpu-vit --precision fp16");
  CHECK(prec.status != 0);
  CHECK(prec.out.find("--precision expects fp32 or bf16, got 'fp16'") != std::string::npos);
}

TEST_CASE("cli: preview writes a grid of the first samples and prints their captions") {
  std::string path = "/tmp/hyperclip_preview_test_" + std::to_string(::getpid()) + ".ppm";
  RunResult r = run_cli("preview --data synthetic --count 5 --size 16 -o " + path, false);
  REQUIRE(r.status == 0);
  // One JSON line per sample, in order, each with a caption of its own scene.
  std::vector<nlohmann::json> lines;
  size_t at = 0;
  while (at < r.out.size()) {
    size_t nl = r.out.find('\n', at);
    lines.push_back(nlohmann::json::parse(r.out.substr(at, nl - at)));
    at = nl + 1;
  }
  REQUIRE(lines.size() == 5);
  for (int k = 0; k < 5; ++k) {
    CHECK(lines[k]["index"].get<int>() == k);
    CHECK(!lines[k]["caption"].get<std::string>().empty());
  }
  // 5 tiles in rows of ceil(sqrt(5)) = 3: 3 x 2 tiles of 16 px with 2 px gaps.
  FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  int w = 0, h = 0, maxval = 0;
  REQUIRE(std::fscanf(f, "P6 %d %d %d", &w, &h, &maxval) == 3);
  std::fgetc(f);  // the one whitespace byte after the header
  CHECK(w == 3 * 16 + 4 * 2);
  CHECK(h == 2 * 16 + 3 * 2);
  CHECK(maxval == 255);
  std::vector<unsigned char> px(static_cast<size_t>(w) * h * 3);
  CHECK(std::fread(px.data(), 1, px.size(), f) == px.size());
  CHECK(std::fgetc(f) == EOF);
  std::fclose(f);
  std::remove(path.c_str());
  // The gap is white, the tiles are not: some pixel of the first tile differs from white.
  CHECK((px[0] == 255 && px[1] == 255 && px[2] == 255));
  bool drawn = false;
  for (int y = 2; y < 18 && !drawn; ++y)
    for (int x = 2; x < 18 && !drawn; ++x) drawn = px[(y * w + x) * 3] != 255 || px[(y * w + x) * 3 + 1] != 255;
  CHECK(drawn);
  // Bad options are named.
  CHECK(run_cli("preview --data synthetic --count 0 -o " + path).out.find("--count must be in [1, 1024]") != std::string::npos);
}
