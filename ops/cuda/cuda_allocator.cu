#include "ops/cuda/cuda_allocator.h"

#include <algorithm>

#include "ops/cuda/cuda_check.h"

namespace hc {

size_t CudaAllocator::size_class(size_t bytes) {
  const size_t small = 512, large = size_t(2) << 20;
  if (bytes < (size_t(1) << 20)) return (bytes + small - 1) / small * small;
  return (bytes + large - 1) / large * large;
}

void* CudaAllocator::allocate(size_t bytes) {
  size_t cls = size_class(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(cls);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      stats_.bytes_cached -= cls;
      stats_.bytes_in_use += cls;
      stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
      return p;
    }
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, cls);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky-free error state of the runtime
    release_cached();
    err = cudaMalloc(&p, cls);
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    MemoryStats s = stats();
    throw Error(cat("out of GPU memory: cudaMalloc of ", cls, " bytes failed (", cudaGetErrorString(err),
                    "); ", s.bytes_in_use, " bytes in use by tensors"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.device_allocations += 1;
  stats_.bytes_in_use += cls;
  stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  return p;
}

void CudaAllocator::deallocate(void* ptr, size_t bytes) {
  if (!ptr) return;
  size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  free_[cls].push_back(ptr);
  stats_.bytes_in_use -= cls;
  stats_.bytes_cached += cls;
}

void CudaAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [cls, blocks] : free_) {
    for (void* p : blocks) {
      cudaFree(p);  // best effort: nothing useful to do if freeing fails
      stats_.device_frees += 1;
      stats_.bytes_cached -= cls;
    }
    blocks.clear();
  }
}

void CudaAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

MemoryStats CudaAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace hc
