// Groups for caption data that has none of its own (hyperclip groups, docs/hypernetwork.md): the
// captions' text embeddings by a fixed reference model, clustered by spherical k-means. The groups
// are written once into a TSV column, so that training (train --set-sampling group) reads a file
// and its order never depends on how the embeddings were computed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "models/hyperclip.h"

namespace hc {

// [n, E] L2-normalised text embeddings of `texts` (row-major, float64), encoded in chunks of `chunk`.
std::vector<double> embed_texts(const HyperClip& model, const Tokenizer& tok, const std::vector<std::string>& texts,
                                int64_t chunk = 256);

struct KMeansResult {
  std::vector<int32_t> cluster;  // [n] in [0, K)
  std::vector<int64_t> sizes;    // [K]
  int iterations = 0;
  bool converged = false;        // no assignment changed in the last step
};

// Spherical k-means of unit rows x [n, E] into K clusters: k-means++ seeding (each next centre drawn
// with probability proportional to 1 - cosine to the nearest centre so far, from `seed`), then Lloyd
// steps (each row to the centre of highest cosine, lowest index on ties; each centre the normalised
// mean of its rows) until no row moves or after max_iter steps. A cluster left empty is re-seeded
// with the row farthest from its centre. Plain loops in a fixed order: the same result on every
// machine and thread count.
KMeansResult spherical_kmeans(const std::vector<double>& x, int64_t n, int64_t E, int64_t K, uint64_t seed,
                              int max_iter = 100);

}  // namespace hc
