// A seeded random generator with the same stream on every platform (the standard library's
// distributions are implementation-defined, so they are not used for anything reproducible).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace hc {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed);
  uint64_t next_u64();      // xoshiro256**
  double uniform();         // [0, 1), 53 random bits
  double normal();          // standard normal (Box-Muller)
  // Normal(0, std) redrawn until inside [-bound*std, bound*std].
  double truncated_normal(double std, double bound = 2.0);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

// In-place fills of a (CPU or device) float tensor, drawn in row-major order.
void fill_normal(const Tensor& t, Generator& g, double std);
void fill_truncated_normal(const Tensor& t, Generator& g, double std, double bound = 2.0);
void fill_uniform(const Tensor& t, Generator& g, double lo, double hi);

}  // namespace hc
