#include "ops/cpu/backend_cpu.h"

#include <atomic>

#include <cstdlib>
#include <cstring>
#include <new>

#include "ops/cpu/reference_cpu.h"

namespace hc {

// 64-byte alignment: a cache line, and enough for AVX-512 loads.
static constexpr size_t kAlign = 64;

void* CpuBackend::allocate(size_t bytes) {
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p) throw Error(cat("out of host memory allocating ", bytes, " bytes"));
  size_t now = live_ += bytes;
  size_t peak = peak_live_;
  while (now > peak && !peak_live_.compare_exchange_weak(peak, now)) {
  }
  return p;
}

void CpuBackend::deallocate(void* ptr, size_t bytes) {
  live_ -= bytes;
  std::free(ptr);
}

void CpuBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}
void CpuBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}
void CpuBackend::copy_on_device(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memmove(dst, src, bytes);
}

static std::atomic<bool> g_reference_kernels{[] {
  const char* v = std::getenv("HC_CPU_REFERENCE");
  return v && std::string(v) == "1";
}()};
bool reference_kernels() { return g_reference_kernels.load(std::memory_order_relaxed); }
void set_reference_kernels(bool on) { g_reference_kernels = on; }

MemoryStats CpuBackend::memory_stats() const {
  MemoryStats s;
  s.bytes_in_use = static_cast<int64_t>(live_.load());
  s.peak_bytes_in_use = static_cast<int64_t>(peak_live_.load());
  return s;
}

CpuBackend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

Backend& cpu_backend_instance() { return cpu_backend(); }

}  // namespace hc
