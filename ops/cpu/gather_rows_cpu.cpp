// gather_rows on the CPU: out[n] = x[n, index[n]].
#include <cstring>
#include <vector>

#include "ops/cpu/backend_cpu.h"

namespace hc {

static std::vector<int32_t> checked_positions(const char* op, const Tensor& index, int64_t T) {
  std::vector<int32_t> p = index.to_ints();
  for (size_t n = 0; n < p.size(); ++n)
    HC_CHECK(p[n] >= 0 && p[n] < T, op, ": position ", p[n], " for row ", n,
             " is outside the sequence length ", T);
  return p;
}

void CpuBackend::gather_rows(const Tensor& x, const Tensor& index, Tensor& out) {
  int64_t N = x.size(0), T = x.size(1), D = x.size(2);
  std::vector<int32_t> p = checked_positions("gather_rows", index, T);
  size_t row = static_cast<size_t>(D) * dtype_size(x.dtype());
  const char* px = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  for (int64_t n = 0; n < N; ++n) std::memcpy(po + n * row, px + (n * T + p[n]) * row, row);
}

void CpuBackend::gather_rows_backward(const Tensor& index, const Tensor& dy, Tensor& dx) {
  int64_t N = dx.size(0), T = dx.size(1), D = dx.size(2);
  std::vector<int32_t> p = checked_positions("gather_rows_backward", index, T);
  size_t row = static_cast<size_t>(D) * dtype_size(dx.dtype());
  std::memset(dx.raw_data(), 0, static_cast<size_t>(dx.numel()) * dtype_size(dx.dtype()));
  const char* pg = static_cast<const char*>(dy.raw_data());
  char* pd = static_cast<char*>(dx.raw_data());
  for (int64_t n = 0; n < N; ++n) std::memcpy(pd + (n * T + p[n]) * row, pg + n * row, row);
}

}  // namespace hc
