// set_mean on the CPU: out[s] = mean of the rows n with set_index[n] == s.
#include <vector>

#include "ops/cpu/backend_cpu.h"

namespace hc {

// Set sizes, with every index checked and every set required to be non-empty.
static std::vector<int64_t> set_counts(const char* op, const std::vector<int32_t>& idx, int64_t S) {
  std::vector<int64_t> count(S, 0);
  for (size_t n = 0; n < idx.size(); ++n) {
    HC_CHECK(idx[n] >= 0 && idx[n] < S, op, ": set_index[", n, "] = ", idx[n], " is outside [0, ", S, ")");
    ++count[idx[n]];
  }
  for (int64_t s = 0; s < S; ++s) HC_CHECK(count[s] > 0, op, ": set ", s, " is empty");
  return count;
}

void CpuBackend::set_mean(const Tensor& x, const Tensor& set_index, Tensor& out) {
  int64_t N = x.size(0), F = x.size(1), S = out.size(0);
  std::vector<int32_t> idx = set_index.to_ints();
  std::vector<int64_t> count = set_counts("set_mean", idx, S);
  dispatch_float(x.dtype(), "set_mean", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    std::vector<double> acc(S * F, 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t f = 0; f < F; ++f) acc[idx[n] * F + f] += px[n * F + f];
    for (int64_t s = 0; s < S; ++s)
      for (int64_t f = 0; f < F; ++f) po[s * F + f] = static_cast<T>(acc[s * F + f] / count[s]);
  });
}

void CpuBackend::set_mean_backward(const Tensor& set_index, const Tensor& dy, Tensor& dx) {
  int64_t N = dx.size(0), F = dx.size(1), S = dy.size(0);
  std::vector<int32_t> idx = set_index.to_ints();
  std::vector<int64_t> count = set_counts("set_mean_backward", idx, S);
  dispatch_float(dx.dtype(), "set_mean_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pg = dy.data<T>();
    T* pd = dx.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t f = 0; f < F; ++f) pd[n * F + f] = pg[idx[n] * F + f] / static_cast<T>(count[idx[n]]);
  });
}

}  // namespace hc
