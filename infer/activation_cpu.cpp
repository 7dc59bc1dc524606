// Activations of the inference runtime, vectorised through Eigen's packet math (its float exp and
// erf are accurate to a few ulp; the tape engine's std::exp/std::erf agree to ~1e-7 relative).
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "infer/kernels_cpu.h"

namespace hc::infer {

void activate(float* y, int64_t n, Act act) {
  if (act == Act::None || n == 0) return;
  Eigen::Map<Eigen::ArrayXf> a(y, n);
  if (act == Act::SiLU) a = a / (1.0f + (-a).exp());  // x·σ(x); exp overflow gives x/inf = -0
  else if (act == Act::ReLU) a = a.max(0.0f);
  else a = 0.5f * a * (1.0f + (a * float(M_SQRT1_2)).erf());
}

}  // namespace hc::infer
