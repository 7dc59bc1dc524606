// The CUDA backend. Device memory and copies are here (core/backend_cuda.cu); kernels are added
// beside their ops as ops/cuda/<op>_cuda.cu. Every kernel not yet written is refused by the
// Backend defaults with "op X is not implemented on the CUDA backend": no silent CPU fallback.
#pragma once
#include "core/backend.h"

namespace hc {

class CudaBackend final : public Backend {
 public:
  Device device() const override { return Device::CUDA; }
  std::string name() const override { return "CUDA"; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_on_device(void* dst, const void* src, size_t bytes) override;
  void synchronize() override;
};

}  // namespace hc
