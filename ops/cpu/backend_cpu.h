// The CPU backend: Eigen or OpenBLAS for matrix products, OpenMP loops for the rest, float32 and
// float64. Memory is here (ops/cpu/backend_cpu.cpp); each kernel's definition lives beside its op,
// in ops/cpu/<op>_cpu.cpp.
#pragma once
#include <atomic>
#include <string>
#include "core/backend.h"

namespace hc {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::CPU; }
  std::string name() const override { return "CPU"; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_on_device(void* dst, const void* src, size_t bytes) override;
  // Bytes of tensor memory live now, and the most live at once since the last reset (bench).
  MemoryStats memory_stats() const override;
  void reset_peak_memory() override { peak_live_ = live_.load(); }

  // The kernels of core/kernels.def, each defined in ops/cpu/<op>_cpu.cpp.
#define HC_KERNEL(name, params) void name params override;
#include "core/kernels.def"
#undef HC_KERNEL

 private:
  std::atomic<size_t> live_{0}, peak_live_{0};
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
