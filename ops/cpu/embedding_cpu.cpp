// embedding on the CPU. The backward pass scatter-adds rows; it runs serially over ids (repeated
// ids add into the same row) and in parallel over the columns of each row.
#include <cstring>
#include <vector>

#include "ops/cpu/backend_cpu.h"

namespace hc {

static std::vector<int32_t> checked_ids(const char* op, const Tensor& ids, int64_t V) {
  std::vector<int32_t> v = ids.to_ints();
  for (size_t i = 0; i < v.size(); ++i)
    HC_CHECK(v[i] >= 0 && v[i] < V, op, ": id ", v[i], " at position ", i,
             " is outside the table of ", V, " rows");
  return v;
}

void CpuBackend::embedding(const Tensor& weight, const Tensor& ids, Tensor& out) {
  int64_t V = weight.size(0), D = weight.size(1);
  std::vector<int32_t> id = checked_ids("embedding", ids, V);
  size_t row = static_cast<size_t>(D) * dtype_size(weight.dtype());
  const char* pw = static_cast<const char*>(weight.raw_data());
  char* po = static_cast<char*>(out.raw_data());
#pragma omp parallel for schedule(static) if (id.size() * D > (1 << 14))
  for (int64_t i = 0; i < static_cast<int64_t>(id.size()); ++i) std::memcpy(po + i * row, pw + id[i] * row, row);
}

void CpuBackend::embedding_backward(const Tensor& ids, const Tensor& dy, Tensor& dweight) {
  int64_t V = dweight.size(0), D = dweight.size(1);
  std::vector<int32_t> id = checked_ids("embedding_backward", ids, V);
  dispatch_float(dweight.dtype(), "embedding_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pg = dy.data<T>();
    T* pw = dweight.data<T>();
    for (size_t i = 0; i < id.size(); ++i) {
      T* row = pw + id[i] * D;
      const T* g = pg + i * D;
      for (int64_t d = 0; d < D; ++d) row[d] += g[d];
    }
  });
}

}  // namespace hc
