#include "ops/cpu/backend_cpu.h"

#include <atomic>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <cstring>
#include <new>

#include "ops/cpu/reference_cpu.h"

namespace hc {

// 64-byte alignment: a cache line, and enough for AVX-512 loads.
static constexpr size_t kAlign = 64;

// Size classes: multiples of 64 bytes up to 64 KiB, then eight steps per power of two (a block is
// at most 12.5% larger than asked for), so that tensors whose sizes vary a little from batch to
// batch (trimmed text lengths) share blocks.
static size_t size_class(size_t bytes) {
  if (bytes <= 65536) return bytes ? (bytes + kAlign - 1) / kAlign * kAlign : kAlign;
  size_t top = size_t(1) << (63 - __builtin_clzll(bytes));
  size_t step = top / 8;
  return (bytes + step - 1) / step * step;
}

// The cache holds at most twice as much freed memory as the most tensor memory ever live at once
// (both counted in size classes). A training step frees and reallocates the same sizes in the same
// order, but each size class peaks at its own moment (the forward's activations, the backward's
// gradients), so a step that never asks the system for memory needs, per class, as many blocks as
// were ever live at once in that class: measured at batch 128 (hyper mode), 1.30x the most memory
// live at once for cpu-convnet, 1.12x for cpu-vit, 1.24x for cpu-mci. A cap of 1x therefore
// handed blocks back and asked for them again in every step (249, 11 and 206 system allocations
// per step at batch 128, none at batch 32, where the classes happened to fit), and the churn cost
// peak RSS too (966 / 1375 / 875 MB against 956 / 1321 / 864 MB with no churn). 2x leaves room
// for graphs whose classes peak further apart, and still bounds the cache when shapes keep changing.
// Under AddressSanitizer nothing is cached: every block goes back to the system at once, so a use
// after free is still caught (a cached block would stay addressable).
#if defined(__SANITIZE_ADDRESS__)
#define HC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HC_ASAN 1
#endif
#endif
#ifdef HC_ASAN
static constexpr double kCacheCap = 0.0;
#else
static constexpr double kCacheCap = 2.0;
#endif
bool CpuBackend::caches_blocks() { return kCacheCap > 0; }

void* CpuBackend::allocate(size_t bytes) {
  size_t cls = size_class(bytes);
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(cls);
    if (it != cache_.end() && !it->second.empty()) {
      p = it->second.back().second;  // the most recently freed: likeliest still in the CPU's caches
      free_order_.erase(it->second.back().first);
      it->second.pop_back();
      cached_bytes_ -= cls;
    } else {
      p = std::aligned_alloc(kAlign, cls);
      if (!p) throw Error(cat("out of host memory allocating ", bytes, " bytes"));
      ++system_allocations_;
    }
    held_bytes_ += cls;
    most_held_ = std::max(most_held_, held_bytes_);
    live_ += bytes;
  }
  size_t now = live_.load();
  size_t peak = peak_live_;
  while (now > peak && !peak_live_.compare_exchange_weak(peak, now)) {
  }
  return p;
}

void CpuBackend::deallocate(void* ptr, size_t bytes) {
  size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  live_ -= bytes;
  held_bytes_ -= cls;
  // Over the cap (batches of changing shapes, or the blocks of an earlier model): the least
  // recently freed blocks go back to the system first, so the cache cannot grow without bound and
  // keeps what the current step reuses.
  const double cap = kCacheCap * static_cast<double>(most_held_);
  while (!free_order_.empty() && cached_bytes_ + cls > cap) {
    auto oldest = free_order_.begin();
    auto& blocks = cache_[oldest->second];
    std::free(blocks.front().second);
    blocks.pop_front();
    cached_bytes_ -= oldest->second;
    ++system_frees_;
    free_order_.erase(oldest);
  }
  if (cached_bytes_ + cls > cap) {
    std::free(ptr);
    ++system_frees_;
    return;
  }
  cache_[cls].emplace_back(frees_seen_, ptr);
  free_order_.emplace(frees_seen_++, cls);
  cached_bytes_ += cls;
}

void CpuBackend::empty_cache() {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  for (auto& [size, blocks] : cache_) {
    for (auto& block : blocks) std::free(block.second);
    system_frees_ += static_cast<int64_t>(blocks.size());
  }
  cache_.clear();
  free_order_.clear();
  cached_bytes_ = 0;
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
  std::lock_guard<std::mutex> lock(cache_mutex_);
  s.bytes_cached = static_cast<int64_t>(cached_bytes_);
  s.device_allocations = system_allocations_;
  s.device_frees = system_frees_;
  return s;
}

CpuBackend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

Backend& cpu_backend_instance() { return cpu_backend(); }

}  // namespace hc
