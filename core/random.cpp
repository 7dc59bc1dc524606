#include "core/random.h"

#include <cmath>
#include <vector>

namespace hc {

static uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void Generator::reseed(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) s = splitmix64(x);
  has_spare_ = false;
}

uint64_t Generator::next_u64() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = 0;
  while (u1 <= 0) u1 = uniform();  // log(0) is not a number
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1)), a = 2.0 * M_PI * u2;
  spare_ = r * std::sin(a);
  has_spare_ = true;
  return r * std::cos(a);
}

double Generator::truncated_normal(double std, double bound) {
  for (;;) {
    double z = normal();
    if (std::fabs(z) <= bound) return z * std;
  }
}

template <class Draw>
static void fill_with(const Tensor& t, Draw draw) {
  std::vector<double> v(t.numel());
  for (double& x : v) x = draw();
  t.copy_(Tensor::from_vector(v, t.shape(), t.dtype(), Device::CPU).to(t.device()));
}

void fill_normal(const Tensor& t, Generator& g, double std) {
  fill_with(t, [&] { return g.normal() * std; });
}
void fill_truncated_normal(const Tensor& t, Generator& g, double std, double bound) {
  fill_with(t, [&] { return g.truncated_normal(std, bound); });
}
void fill_uniform(const Tensor& t, Generator& g, double lo, double hi) {
  fill_with(t, [&] { return lo + (hi - lo) * g.uniform(); });
}

}  // namespace hc
