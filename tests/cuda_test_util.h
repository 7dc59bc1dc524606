// Helpers for the CUDA-against-CPU tests (tests/test_cuda_*.cpp). Without a GPU those tests skip
// with a message that says so; they always compile, whether the build has the CUDA backend or not.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/backend.h"

namespace hc::test {

// True with a GPU; otherwise logs why the test is skipped and returns false.
inline bool gpu_or_skip(const char* what) {
  std::string why;
  if (cuda_available(&why)) return true;
  std::string msg = std::string("SKIPPED (no GPU): ") + what + " -- " + why;
  MESSAGE(msg);
  return false;
}

// Normalised mean squared error sum((a - ref)^2) / sum(ref^2); for an all-zero reference, the
// plain sum of squares of a (so that it must be 0 as well, to within the bound).
inline double nmse(const std::vector<double>& a, const std::vector<double>& ref) {
  REQUIRE(a.size() == ref.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - ref[i]) * (a[i] - ref[i]);
    norm += ref[i] * ref[i];
  }
  if (std::isnan(diff)) return INFINITY;
  return norm > 0 ? diff / norm : diff;
}

// Runs body with the CUDA backend in `mode`, restoring FP32 afterwards even on a throw.
struct CudaMathModeGuard {
  explicit CudaMathModeGuard(MathMode mode) { backend_for(Device::CUDA).set_math_mode(mode); }
  ~CudaMathModeGuard() { backend_for(Device::CUDA).set_math_mode(MathMode::FP32); }
};

}  // namespace hc::test
