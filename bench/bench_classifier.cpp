// Inference benchmark of exported classifiers (issue: deployment): batch-1 latency (median of 50)
// and batch-64 throughput (median of 10) of the convnet-nano, vit-nano and mci-nano classifiers as
// exported (BN folded, an MCi tower reparameterised, class matrix), run by the inference runtime
// (infer/runtime.h), one JSON line per tower; with --tape also the exported tower's forward on the
// tape engine ("hyperclip-tape").
// bench/torch_classifier.py measures PyTorch eval-mode inference of the same networks;
// `make bench-classify` runs both in one go.
//   build/bench_classifier [--threads N] [--min-macs M] [--tape]
// --min-macs: the runtime's parallel_min_macs (batch-1 layers below it run on one thread).
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/grad_mode.h"
#include "infer/export.h"

using namespace hc;
using Clock = std::chrono::steady_clock;

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median seconds of fn over `runs` timed runs after `warmup` untimed ones.
template <class F>
static double time_median(F fn, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return median(t);
}

int main(int argc, char** argv) {
  int threads = 2;
  bool tape = false;
  RuntimeOptions ro;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--tape")) tape = true;
    else if (i + 1 < argc && !std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[++i]);
    else if (i + 1 < argc && !std::strcmp(argv[i], "--min-macs")) ro.parallel_min_macs = std::atoll(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_classifier [--threads N] [--min-macs M] [--tape]\n");
      return 2;
    }
  }
  omp_set_num_threads(threads);
  Tokenizer tok = Tokenizer::train({"a photo of a class"}, 300);
  std::vector<std::string> classes;
  for (int k = 0; k < 10; ++k) classes.push_back("class " + std::to_string(k));
  for (const char* image : {"convnet-nano", "vit-nano", "mci-nano"}) {
    ModelConfig cfg;
    cfg.image = image_preset(image);
    cfg.text = text_preset("text-nano");
    cfg.hyper = hyper_preset("hyper-nano");
    cfg.embed = 128;
    cfg.vocab = tok.vocab_size();
    HyperClip model(cfg);
    model.init_parameters(0);
    Classifier c = build_classifier(model, tok, classes, {"a photo of a {}."});
    std::string path = "/tmp/hyperclip_bench_" + std::to_string(::getpid()) + ".safetensors";
    save_classifier(path, c);
    struct stat st;
    ::stat(path.c_str(), &st);
    std::remove(path.c_str());
    NoGradGuard ng;
    int64_t S = cfg.image.image_size;
    Generator g(1);
    Tensor one = Tensor::empty({1, 3, S, S}), many = Tensor::empty({64, 3, S, S});
    fill_normal(one, g, 1.0);
    fill_normal(many, g, 1.0);
    c.prepare(ro);
    ImageRuntime& rt = *c.runtime;
    std::vector<float> out(64 * rt.num_classes());
    double t1 = time_median([&] { rt.cosines(one.data<float>(), 1, out.data()); }, 10, 50);
    double t64 = time_median([&] { rt.cosines(many.data<float>(), 64, out.data()); }, 2, 10);
    std::printf("%s\n", nlohmann::json{{"impl", "hyperclip"},
                                       {"tower", image},
                                       {"image_size", S},
                                       {"threads", threads},
                                       {"batch1_latency_ms", t1 * 1e3},
                                       {"batch64_images_per_s", 64 / t64},
                                       {"classifier_bytes", static_cast<int64_t>(st.st_size)},
                                       {"image_parameters", c.visual->parameter_count()},
                                       {"runtime", nlohmann::json::parse(rt.describe())}}
                            .dump()
                            .c_str());
    std::fflush(stdout);
    if (!tape) continue;
    t1 = time_median([&] { c.cosines_tape(one); }, 5, 30);
    t64 = time_median([&] { c.cosines_tape(many); }, 2, 5);
    std::printf("%s\n", nlohmann::json{{"impl", "hyperclip-tape"},
                                       {"tower", image},
                                       {"threads", threads},
                                       {"batch1_latency_ms", t1 * 1e3},
                                       {"batch64_images_per_s", 64 / t64}}
                            .dump()
                            .c_str());
    std::fflush(stdout);
  }
  return 0;
}
