// Inference benchmark of exported classifiers (issue: deployment): batch-1 latency and batch-64
// throughput of the convnet-nano and vit-nano image towers as exported (BN folded, class matrix),
// one JSON line per tower. bench/torch_classifier.py measures PyTorch eval-mode inference of the
// same networks; `make bench-classify` runs both in one go.
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
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  omp_set_num_threads(threads);
  Tokenizer tok = Tokenizer::train({"a photo of a class"}, 300);
  std::vector<std::string> classes;
  for (int k = 0; k < 10; ++k) classes.push_back("class " + std::to_string(k));
  for (const char* image : {"convnet-nano", "vit-nano"}) {
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
    double t1 = time_median([&] { c.cosines(one); }, 10, 50);
    double t64 = time_median([&] { c.cosines(many); }, 2, 10);
    std::printf("%s\n", nlohmann::json{{"impl", "hyperclip"},
                                       {"tower", image},
                                       {"image_size", S},
                                       {"threads", threads},
                                       {"batch1_latency_ms", t1 * 1e3},
                                       {"batch64_images_per_s", 64 / t64},
                                       {"classifier_bytes", static_cast<int64_t>(st.st_size)},
                                       {"image_parameters", c.visual->parameter_count()}}
                            .dump()
                            .c_str());
    std::fflush(stdout);
  }
  return 0;
}
