// The CPU backend: Eigen or OpenBLAS for matrix products, OpenMP loops for the rest, float32 and
// float64. Memory is here (ops/cpu/backend_cpu.cpp); each kernel's definition lives beside its op,
// in ops/cpu/<op>_cpu.cpp.
//
// Memory is cached: a freed block is kept in a free list of its size class and handed to the next
// request of that class, so a training step, which asks for the same sizes every time, calls the
// system allocator only in its first step (memory_stats().device_allocations counts those calls;
// tests/test_cpu_allocator.cpp checks it). The cache never holds more than twice the most tensor memory
// ever live at once (why twice: ops/cpu/backend_cpu.cpp).
#pragma once
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>
#include "core/backend.h"

namespace hc {

class CpuBackend final : public Backend {
 public:
  ~CpuBackend() override { empty_cache(); }
  Device device() const override { return Device::CPU; }
  std::string name() const override { return "CPU"; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  // Frees the cached blocks (torch.cuda.empty_cache's counterpart).
  void empty_cache() override;
  // False under AddressSanitizer, where freed blocks go straight back to the system.
  static bool caches_blocks();
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_on_device(void* dst, const void* src, size_t bytes) override;
  // Bytes of tensor memory live now, and the most live at once since the last reset (bench).
  MemoryStats memory_stats() const override;
  void reset_peak_memory() override { peak_live_ = live_.load(); }
  // BF16: float32 matrix products and dense convolutions round their inputs to bfloat16 and
  // accumulate in float32 (ops/cpu/gemm_bf16_cpu.h).
  void set_math_mode(MathMode mode) override { mode_ = mode; }
  MathMode math_mode() const override { return mode_; }

  // The kernels of core/kernels.def, each defined in ops/cpu/<op>_cpu.cpp.
#define HC_KERNEL(name, params) void name params override;
#include "core/kernels.def"
#undef HC_KERNEL

 private:
  std::atomic<size_t> live_{0}, peak_live_{0};
  MathMode mode_ = MathMode::FP32;
  mutable std::mutex cache_mutex_;
  // Freed blocks: size class -> (free order, block), oldest first; and free order -> size class,
  // so that going over the cap hands back the least recently freed blocks first.
  std::unordered_map<size_t, std::deque<std::pair<uint64_t, void*>>> cache_;
  std::map<uint64_t, size_t> free_order_;
  uint64_t frees_seen_ = 0;
  // held_bytes_: the live blocks' size classes; most_held_: the most of them ever live at once.
  size_t cached_bytes_ = 0, held_bytes_ = 0, most_held_ = 0;
  int64_t system_allocations_ = 0, system_frees_ = 0;
};

CpuBackend& cpu_backend();

// What computes the CPU matrix products ("eigen", or OpenBLAS with its kernel set), for benchmarks.
std::string cpu_gemm_library();

// Runs body.template operator()<T>() with T = float or double after the tensor's dtype; throws
// for other dtypes. Used by every CPU kernel.
template <class F>
void dispatch_float(DType dtype, const char* op, F&& body) {
  if (dtype == DType::F32) {
    body(float{});
  } else if (dtype == DType::F64) {
    body(double{});
  } else {
    throw Error(cat("op '", op, "' needs float32 or float64 tensors, got ", dtype_name(dtype)));
  }
}

}  // namespace hc
