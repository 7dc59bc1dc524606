#include "infer/caption_groups.h"

#include <algorithm>
#include <cmath>

#include "core/grad_mode.h"
#include "core/random.h"
#include "infer/zeroshot.h"

namespace hc {

std::vector<double> embed_texts(const HyperClip& model, const Tokenizer& tok, const std::vector<std::string>& texts,
                                int64_t chunk) {
  NoGradGuard ng;
  Device device = model.logit_scale.device();
  std::vector<double> out;
  out.reserve(texts.size() * static_cast<size_t>(model.config().embed));
  for (size_t i0 = 0; i0 < texts.size(); i0 += static_cast<size_t>(chunk)) {
    std::vector<std::string> part(texts.begin() + i0, texts.begin() + std::min(texts.size(), i0 + chunk));
    Tensor tokens, eot;
    tokenize_batch(tok, part, model.config().text.context, tokens, eot);
    std::vector<double> e = model.encode_text(tokens.to(device), eot.to(device)).to_vector();  // [chunk, E]
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

namespace {

double dot(const double* a, const double* b, int64_t E) {
  double s = 0;
  for (int64_t j = 0; j < E; ++j) s += a[j] * b[j];
  return s;
}

void normalise(double* a, int64_t E) {
  double s = std::sqrt(dot(a, a, E));
  if (s > 0)
    for (int64_t j = 0; j < E; ++j) a[j] /= s;
}

}  // namespace

KMeansResult spherical_kmeans(const std::vector<double>& x, int64_t n, int64_t E, int64_t K, uint64_t seed,
                              int max_iter) {
  HC_CHECK(K > 0 && n >= K, "k-means: ", n, " rows for ", K, " clusters");
  HC_CHECK(static_cast<int64_t>(x.size()) == n * E, "k-means: ", x.size(), " values for ", n, " x ", E);
  // centres [K, E]; best[i] = cosine of row i to its nearest centre so far.
  std::vector<double> centre(static_cast<size_t>(K * E)), best(static_cast<size_t>(n), -2.0);
  Generator g(seed);
  int64_t first = static_cast<int64_t>(g.next_u64() % static_cast<uint64_t>(n));
  std::copy(&x[first * E], &x[first * E] + E, centre.begin());
  for (int64_t k = 1; k < K; ++k) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      best[i] = std::max(best[i], dot(&x[i * E], &centre[(k - 1) * E], E));
      total += std::max(0.0, 1.0 - best[i]);
    }
    int64_t pick = 0;
    if (total > 0) {  // D² sampling on the cosine distance
      double r = g.uniform() * total;
      for (pick = 0; pick < n - 1; ++pick) {
        r -= std::max(0.0, 1.0 - best[pick]);
        if (r < 0) break;
      }
    }
    std::copy(&x[pick * E], &x[pick * E] + E, centre.begin() + k * E);
  }
  KMeansResult r;
  r.cluster.assign(static_cast<size_t>(n), -1);
  std::vector<double> sim(static_cast<size_t>(n));
  for (r.iterations = 1; r.iterations <= max_iter; ++r.iterations) {
    bool moved = false;
    for (int64_t i = 0; i < n; ++i) {
      int32_t arg = 0;
      double top = -2.0;
      for (int64_t k = 0; k < K; ++k) {
        double s = dot(&x[i * E], &centre[k * E], E);
        if (s > top) {
          top = s;
          arg = static_cast<int32_t>(k);
        }
      }
      moved |= r.cluster[i] != arg;
      r.cluster[i] = arg;
      sim[i] = top;
    }
    // Centres: the normalised mean of their rows; an empty cluster takes the worst-placed row.
    std::fill(centre.begin(), centre.end(), 0.0);
    r.sizes.assign(static_cast<size_t>(K), 0);
    for (int64_t i = 0; i < n; ++i) {
      ++r.sizes[r.cluster[i]];
      for (int64_t j = 0; j < E; ++j) centre[r.cluster[i] * E + j] += x[i * E + j];
    }
    for (int64_t k = 0; k < K; ++k) {
      if (r.sizes[k] == 0) {
        int64_t worst = std::min_element(sim.begin(), sim.end()) - sim.begin();
        std::copy(&x[worst * E], &x[worst * E] + E, centre.begin() + k * E);
        sim[worst] = 2.0;  // not taken twice
        moved = true;
      }
      normalise(&centre[k * E], E);
    }
    if (!moved) {
      r.converged = true;
      break;
    }
  }
  r.iterations = std::min(r.iterations, max_iter);
  return r;
}

}  // namespace hc
