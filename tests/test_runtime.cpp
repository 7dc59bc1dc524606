// The inference runtime (infer/runtime.h): each fused kernel against its plain loop reference, on
// odd sizes, padding and strides; whole thread splits against unsplit runs; the runtime against the
// exported tower's forward on the tape engine, batch 1 and batch > 1, both towers; no allocation
// and a constant arena over repeated calls.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <new>
#include <omp.h>
#include <random>
#include <vector>

#include "core/grad_mode.h"
#include "infer/export.h"
#include "infer/kernels_cpu.h"
#include "infer/runtime.h"
#include "models/convnet.h"
#include "models/mci.h"
#include "tests/model_fixture.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::infer;

// Counts operator new calls (the runtime must make none per call). Forwarding to malloc keeps the
// rest of the suite unchanged.
static std::atomic<long> g_news{0};
void* operator new(std::size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's temporary buffer uses it): every allocation these deletes
// free must come from malloc, or AddressSanitizer reports a new/free mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

std::vector<float> rnd(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

// max |a − b| / max |b|
double rel(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0, s = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i]))), s = std::max(s, double(std::fabs(b[i])));
  return d / s;
}

double rel(const Tensor& a, const Tensor& b) {
  std::vector<double> av = a.to_vector(), bv = b.to_vector();
  REQUIRE(av.size() == bv.size());
  double d = 0, s = 0;
  for (size_t i = 0; i < av.size(); ++i) d = std::max(d, std::fabs(av[i] - bv[i])), s = std::max(s, std::fabs(bv[i]));
  return d / s;
}

// Float32 kernels against double references: a few float roundings of sums of up to ~1000 terms.
constexpr double kTol = 2e-5;

}  // namespace

TEST_CASE("inference kernels: linear with bias, activation and residual equals the reference") {
  const int64_t M = 37, in = 29, out = 23;
  auto x = rnd(M * in, 1), w = rnd(out * in, 2, 0.3f), b = rnd(out, 3), r = rnd(M * out, 4);
  for (Act act : {Act::None, Act::SiLU, Act::GELU, Act::ReLU})
    for (int residual = 0; residual < 3; ++residual) {  // none, separate, in place
      if (residual && act != Act::None) continue;
      CAPTURE(static_cast<int>(act));
      CAPTURE(residual);
      std::vector<float> want = residual == 2 ? r : std::vector<float>(M * out), got = want;
      const float* rw = residual == 1 ? r.data() : residual == 2 ? want.data() : nullptr;
      const float* rg = residual == 1 ? r.data() : residual == 2 ? got.data() : nullptr;
      ref::linear(x.data(), w.data(), b.data(), rw, want.data(), M, in, out, act);
      // In three row blocks, as a split layer runs it.
      for (auto [m0, m1] : {std::pair<int64_t, int64_t>{0, 10}, {10, 11}, {11, M}})
        linear_fused(x.data(), w.data(), b.data(), rg, got.data(), in, out, act, m0, m1);
      CHECK(rel(got, want) <= kTol);
    }
  CHECK_THROWS_WITH_AS(linear_fused(x.data(), w.data(), b.data(), r.data(), r.data(), in, out, Act::SiLU, 0, M),
                       doctest::Contains("no activation"), Error);
}

TEST_CASE("inference kernels: dense conv (stem, patches) into channels-last equals the reference") {
  struct Case { int64_t Cin, H, Cout, K, stride, pad; };
  for (Case c : {Case{3, 13, 8, 3, 2, 1}, Case{3, 16, 12, 4, 4, 0}, Case{2, 9, 5, 5, 1, 2}, Case{3, 8, 7, 3, 1, 1}}) {
    CAPTURE(c.H);
    ConvGeom g{c.Cin, c.H, c.H, c.Cout, c.K, c.stride, c.pad, 0, 0};
    g.OH = g.OW = (c.H + 2 * c.pad - c.K) / c.stride + 1;
    int64_t P = g.OH * g.OW;
    auto x = rnd(c.Cin * c.H * c.H, 5), w = rnd(c.Cout * g.patch(), 6, 0.3f), b = rnd(c.Cout, 7),
         add = rnd(P * c.Cout, 8);
    for (Act act : {Act::None, Act::SiLU})
      for (bool with_add : {false, true}) {
        std::vector<float> want(P * c.Cout), got(P * c.Cout), col(P * g.patch());
        ref::conv2d(x.data(), g, w.data(), b.data(), with_add ? add.data() : nullptr, act, want.data());
        int64_t mid = P / 3;
        conv2d_fused(x.data(), g, w.data(), b.data(), with_add ? add.data() : nullptr, act, got.data(), col.data(), 0, mid);
        conv2d_fused(x.data(), g, w.data(), b.data(), with_add ? add.data() : nullptr, act, got.data(), col.data(), mid, P);
        CHECK(rel(got, want) <= kTol);
      }
  }
}

TEST_CASE("inference kernels: depthwise conv with bias and SiLU equals the reference") {
  struct Case { int64_t C, H, K, stride; };
  for (Case c : {Case{24, 9, 3, 1}, Case{13, 10, 5, 2}, Case{40, 2, 5, 1}, Case{8, 7, 3, 2}}) {
    CAPTURE(c.C);
    DepthwiseGeom g{c.C, c.H, c.H, c.K, c.stride, c.K / 2, 0, 0};
    g.OH = g.OW = (c.H + 2 * g.pad - c.K) / c.stride + 1;
    auto x = rnd(c.H * c.H * c.C, 9), w = rnd(c.K * c.K * c.C, 10, 0.3f), b = rnd(c.C, 11);
    std::vector<float> want(g.OH * g.OW * c.C), got(want.size());
    ref::depthwise_conv2d(x.data(), g, w.data(), b.data(), Act::SiLU, want.data());
    depthwise_conv2d_fused(x.data(), g, w.data(), b.data(), Act::SiLU, got.data(), 0, g.OH / 2);
    depthwise_conv2d_fused(x.data(), g, w.data(), b.data(), Act::SiLU, got.data(), g.OH / 2, g.OH);
    CHECK(rel(got, want) <= kTol);
  }
}

TEST_CASE("inference kernels: grouped conv with two outputs per channel (MCi's 7×7 and 3×3) equals the reference") {
  struct Case { int64_t C, H, K, stride, mult; Act act; };
  for (Case c : {Case{24, 16, 7, 2, 2, Act::GELU}, Case{13, 9, 7, 2, 2, Act::None}, Case{12, 4, 3, 1, 2, Act::None},
                 Case{5, 6, 3, 1, 3, Act::ReLU}}) {
    CAPTURE(c.C);
    CAPTURE(c.mult);
    DepthwiseGeom g{c.C, c.H, c.H, c.K, c.stride, c.K / 2, 0, 0};
    g.mult = c.mult;
    g.OH = g.OW = (c.H + 2 * g.pad - c.K) / c.stride + 1;
    int64_t CO = g.out_channels();
    auto x = rnd(c.H * c.H * c.C, 30), w = rnd(c.K * c.K * CO, 31, 0.3f), b = rnd(CO, 32);
    std::vector<float> want(g.OH * g.OW * CO), got(want.size());
    ref::depthwise_conv2d(x.data(), g, w.data(), b.data(), c.act, want.data());
    depthwise_conv2d_fused(x.data(), g, w.data(), b.data(), c.act, got.data(), 0, 1);
    depthwise_conv2d_fused(x.data(), g, w.data(), b.data(), c.act, got.data(), 1, g.OH);
    CHECK(rel(got, want) <= kTol);
  }
}

TEST_CASE("inference kernels: squeeze-excitation, layer norm and attention equal the references") {
  {
    const int64_t HW = 11, C = 19, R = 5;
    auto x = rnd(HW * C, 12), w1 = rnd(R * C, 13, 0.5f), b1 = rnd(R, 14), w2 = rnd(C * R, 15, 0.5f), b2 = rnd(C, 16);
    std::vector<float> want = x, got = x, scratch(C + R);
    ref::squeeze_excite(want.data(), HW, C, w1.data(), b1.data(), w2.data(), b2.data(), R);
    squeeze_excite(got.data(), HW, C, w1.data(), b1.data(), w2.data(), b2.data(), R, scratch.data());
    CHECK(rel(got, want) <= kTol);
    // MCi's: ReLU between the products, its block's GELU after the scaling.
    want = x, got = x;
    ref::squeeze_excite(want.data(), HW, C, w1.data(), b1.data(), w2.data(), b2.data(), R, Act::ReLU, Act::GELU);
    squeeze_excite(got.data(), HW, C, w1.data(), b1.data(), w2.data(), b2.data(), R, scratch.data(), Act::ReLU, Act::GELU);
    CHECK(rel(got, want) <= kTol);
  }
  {
    const int64_t M = 9, D = 31;
    auto x = rnd(M * D, 17, 3.0f), g = rnd(D, 18), b = rnd(D, 19);
    for (float& v : x) v += 5.0f;  // a mean far from zero
    std::vector<float> want(M * D), got(M * D);
    ref::layer_norm(x.data(), g.data(), b.data(), M, D, 1e-5, want.data());
    layer_norm_rows(x.data(), g.data(), b.data(), D, 1e-5, got.data(), 0, 4);
    layer_norm_rows(x.data(), g.data(), b.data(), D, 1e-5, got.data(), 4, M);
    CHECK(rel(got, want) <= kTol);
  }
  {
    const int64_t L = 17, D = 24, heads = 3;
    auto qkv = rnd(L * 3 * D, 20, 2.0f);  // large enough scores for a peaked softmax
    std::vector<float> want(L * D), got(L * D), scores(L * L);
    ref::attention(qkv.data(), L, D, heads, want.data());
    attention_fused(qkv.data(), L, D, heads, got.data(), scores.data(), 0, 6);
    attention_fused(qkv.data(), L, D, heads, got.data(), scores.data(), 6, L);
    CHECK(rel(got, want) <= kTol);
  }
}

namespace {

// An exported classifier of a small random model (non-zero generated offsets and running stats).
Classifier make_classifier(const std::string& image, int64_t image_size) {
  Tokenizer tok = Tokenizer::train({"a photo of a red circle", "a blue square"}, 280);
  HyperClip m(test::tiny_config(image, tok.vocab_size(), 64, 12, 32, image_size));
  m.init_parameters(5);
  test::randomise_as_trained(m, 21);
  return build_classifier(m, tok, {"red circle", "blue square", "cat"}, {"a photo of a {}."});
}

// Built once per tower for the whole file (building is most of these tests' time); each test
// gets a copy with its own runtime. 32 px, mci-nano 64 px (its last stage then sees 2×2 maps: four
// tokens of attention).
Classifier small_classifier(const std::string& image) {
  static std::map<std::string, Classifier> built;
  auto it = built.find(image);
  if (it == built.end()) it = built.emplace(image, make_classifier(image, image == "mci-nano" ? 64 : 32)).first;
  Classifier c = it->second;
  c.prepare();
  return c;
}

}  // namespace

TEST_CASE("inference runtime: equals the exported tower's tape forward, batch 1 and batch > 1, split or not") {
  for (const char* image : {"convnet-nano", "vit-nano", "mci-nano"}) {
    CAPTURE(image);
    Classifier c = small_classifier(image);
    const int64_t S = c.config.image.image_size;
    Tensor images = test::randn({7, 3, S, S}, 8).to(DType::F32);
    Tensor want_cos = c.cosines_tape(images), want_emb = c.embed_tape(images);
    Tensor one = slice(images, 0, 2, 3);
    Tensor want_one = c.cosines_tape(one);
    // Every layer split between the threads at batch 1, or none; max_batch 3 runs 7 images in chunks.
    for (int64_t min_macs : {int64_t(0), int64_t(1) << 40})
      for (int64_t max_batch : {int64_t(64), int64_t(3)})
        for (int threads : {1, 2}) {
          CAPTURE(min_macs);
          CAPTURE(max_batch);
          CAPTURE(threads);
          RuntimeOptions o;
          o.parallel_min_macs = min_macs;
          o.max_batch = max_batch;
          o.threads = threads;
          c.prepare(o);
          CHECK(rel(c.cosines(images), want_cos) <= 1e-5);
          CHECK(rel(c.embed(images), want_emb) <= 1e-5);
          CHECK(rel(c.cosines(one), want_one) <= 1e-5);
        }
  }
}

TEST_CASE("inference runtime: repeated calls allocate nothing and keep the arena") {
  for (const char* image : {"convnet-nano", "vit-nano", "mci-nano"}) {
    CAPTURE(image);
    Classifier c = small_classifier(image);
    const int64_t S = c.config.image.image_size;
    RuntimeOptions o;
    o.max_batch = 4;
    o.parallel_min_macs = 0;  // batch 1 splits every layer: parallel regions on every call
    c.prepare(o);
    ImageRuntime& rt = *c.runtime;
    Tensor images = test::randn({6, 3, S, S}, 9).to(DType::F32);
    std::vector<float> out(std::max(6 * rt.num_classes(), 2 * rt.embed_dim()));
    int64_t arena = rt.arena_bytes();
    CHECK(arena > 0);
    rt.cosines(images.data<float>(), 6, out.data());  // warm up (OpenMP's team)
    rt.cosines(images.data<float>(), 1, out.data());
    long before = g_news.load();
    for (int r = 0; r < 3; ++r) {
      rt.cosines(images.data<float>(), 6, out.data());  // chunks of 4 and 2: the batch split
      rt.cosines(images.data<float>(), 1, out.data());  // batch 1: layers split
      rt.embed(images.data<float>(), 2, out.data());
    }
    CHECK(g_news.load() == before);
    CHECK(rt.arena_bytes() == arena);
    c.cosines(images);  // the Tensor wrapper allocates its result: the counter does count
    CHECK(g_news.load() > before);
  }
}

TEST_CASE("inference runtime: wrong images, a tower with batch norms and no classes are clear errors") {
  Classifier c = small_classifier("convnet-nano");
  CHECK_THROWS_WITH_AS(c.cosines(Tensor::zeros({2, 3, 16, 16})), doctest::Contains("expected [n, 3, 32, 32]"),
                       Error);
  ModelConfig cfg = c.config;
  ConvNetTower unfolded(cfg.image.convnet, cfg.embed, false);
  CHECK_THROWS_WITH_AS(ImageRuntime(unfolded, cfg, c.classes), doctest::Contains("still has batch norms"), Error);
  ImageRuntime encoder(*c.visual, cfg, Tensor::zeros({0, cfg.embed}));
  CHECK_THROWS_WITH_AS(encoder.cosines(Tensor::zeros({1, 3, 32, 32})), doctest::Contains("no class matrix"), Error);
  CHECK(encoder.embed(Tensor::zeros({1, 3, 32, 32})).size(1) == cfg.embed);
  Classifier m = small_classifier("mci-nano");
  MciTower branches(m.config.image.mci, m.config.embed, false);
  CHECK_THROWS_WITH_AS(ImageRuntime(branches, m.config, m.classes), doctest::Contains("still has its branches"), Error);
}

TEST_CASE("inference runtime: the worker pool runs every part exactly once, call after call") {
  for (int threads : {1, 2, 3}) {
    WorkerPool pool(threads);
    CHECK(pool.threads() == threads);
    std::vector<std::atomic<int>> hits(threads);
    for (int call = 0; call < 2000; ++call) {
      int parts = 1 + call % threads;
      for (auto& h : hits) h.store(0);
      auto job = [&](int part) { hits[part].fetch_add(1); };
      pool.run(parts, job);
      for (int p = 0; p < threads; ++p) REQUIRE(hits[p].load() == (p < parts ? 1 : 0));
    }
  }
}
