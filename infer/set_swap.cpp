#include "infer/set_swap.h"

#include <cstdio>
#include <limits>
#include <vector>

#include "core/grad_mode.h"
#include "ops/ops.h"

namespace hc {

SetSwapTest::SetSwapTest(const HyperClip& model, int64_t set_size) : model_(model), m_(set_size) {
  HC_CHECK(set_size > 0, "the set-swap test needs sets (a checkpoint trained with --set-size)");
}

void SetSwapTest::add(const Tensor& images, const Tensor& tokens, const Tensor& eot) {
  NoGradGuard ng;
  const int64_t B = images.size(0), m = m_;
  HC_CHECK(B % m == 0 && B / m >= 2, "set-swap test: a batch of ", B, " images is not two or more sets of ", m);
  const int64_t S = B / m;
  Tensor text = model_.encode_text(tokens, eot);  // [B, E]
  Tensor hyper = model_.generate(text, m);        // [S, P], [1, P] in token mode, undefined in baseline
  swappable_ = hyper.defined() && hyper.size(0) == S;
  sets_ = S;
  const int64_t shifts = swappable_ ? S : 1;
  for (int64_t a = 0; a < shifts; ++a) {
    // Image i of set s takes the parameters of set (s + a) mod S.
    Tensor set_index;
    if (hyper.defined()) {
      std::vector<int32_t> idx(static_cast<size_t>(B));
      for (int64_t i = 0; i < B; ++i) idx[i] = swappable_ ? static_cast<int32_t>((i / m + a) % S) : 0;
      set_index = Tensor::from_ints(idx, {B}, images.device());
    }
    Tensor v = model_.encode_image(images, hyper, set_index);  // [B, E]
    double loss = siglip_loss(v, text, model_.logit_scale, model_.logit_bias).item();
    // The logits' order is that of v·eᵀ: the scale is positive and the bias shared.
    const std::vector<double> sim = matmul(v, text, false, true).to_vector();  // [B, B]
    int64_t set_hits = 0, follows = 0, in_set = 0;
    for (int64_t i = 0; i < B; ++i) {
      const double* row = &sim[static_cast<size_t>(i * B)];
      int64_t best = 0;
      for (int64_t j = 1; j < B; ++j)
        if (row[j] > row[best]) best = j;
      const int64_t own = i / m, given = (own + a) % S;
      set_hits += best / m == own;
      follows += best / m == given;
      int64_t best_in = own * m;
      for (int64_t j = own * m + 1; j < (own + 1) * m; ++j)
        if (row[j] > row[best_in]) best_in = j;
      in_set += best_in == i;
    }
    if (a == 0) {
      loss_own_ += loss;
      set_own_ += set_hits;
      in_set_own_ += in_set;
    } else {
      loss_swapped_ += loss;
      set_swapped_ += set_hits;
      follows_ += follows;
      in_set_swapped_ += in_set;
      swapped_images_ += B;
      ++swapped_batches_;
    }
  }
  ++batches_;
  images_ += B;
}

SetSwapReport SetSwapTest::report() const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto share = [](int64_t k, int64_t n) { return n ? static_cast<double>(k) / static_cast<double>(n) : 0.0; };
  SetSwapReport r;
  r.batches = batches_;
  r.images = images_;
  r.sets_per_batch = sets_;
  r.set_size = m_;
  r.swappable = swappable_;
  r.loss_own = batches_ ? loss_own_ / static_cast<double>(batches_) : nan;
  r.set_top1_own = share(set_own_, images_);
  r.in_set_top1_own = share(in_set_own_, images_);
  r.loss_swapped = swapped_batches_ ? loss_swapped_ / static_cast<double>(swapped_batches_) : nan;
  r.set_top1_swapped = swapped_images_ ? share(set_swapped_, swapped_images_) : nan;
  r.follows_params = swapped_images_ ? share(follows_, swapped_images_) : nan;
  r.in_set_top1_swapped = swapped_images_ ? share(in_set_swapped_, swapped_images_) : nan;
  return r;
}

nlohmann::json SetSwapReport::to_json() const {
  auto num = [](double x) { return x == x ? nlohmann::json(x) : nlohmann::json(); };  // NaN -> null
  return {{"diag", "set_swap"},
          {"batches", batches},
          {"images", images},
          {"sets_per_batch", sets_per_batch},
          {"set_size", set_size},
          {"swappable", swappable},
          {"chance_set", sets_per_batch ? 1.0 / static_cast<double>(sets_per_batch) : 0.0},
          {"loss_own", num(loss_own)},
          {"loss_swapped", num(loss_swapped)},
          {"set_top1_own", num(set_top1_own)},
          {"set_top1_swapped", num(set_top1_swapped)},
          {"follows_params", num(follows_params)},
          {"in_set_top1_own", num(in_set_top1_own)},
          {"in_set_top1_swapped", num(in_set_top1_swapped)}};
}

std::string SetSwapReport::summary() const {
  char buf[512];
  if (!swappable) {
    std::snprintf(buf, sizeof buf,
                  "set-swap test, %lld batches of %lld sets of %lld: loss %.4f; best caption in the image's own set "
                  "%.1f%% (chance %.1f%%); own caption best within its set %.1f%% (no per-set parameters to swap)",
                  (long long)batches, (long long)sets_per_batch, (long long)set_size, loss_own, 100 * set_top1_own,
                  100.0 / static_cast<double>(sets_per_batch), 100 * in_set_top1_own);
    return buf;
  }
  std::snprintf(buf, sizeof buf,
                "set-swap test, %lld batches of %lld sets of %lld: loss own %.4f, swapped %.4f; best caption in the "
                "image's own set %.1f%% -> %.1f%% when given another set's parameters, in that set %.1f%% (chance "
                "%.1f%%); own caption best within its set %.1f%% -> %.1f%%",
                (long long)batches, (long long)sets_per_batch, (long long)set_size, loss_own, loss_swapped,
                100 * set_top1_own, 100 * set_top1_swapped, 100 * follows_params,
                100.0 / static_cast<double>(sets_per_batch), 100 * in_set_top1_own, 100 * in_set_top1_swapped);
  return buf;
}

}  // namespace hc
