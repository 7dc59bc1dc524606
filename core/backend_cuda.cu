#include "core/backend_cuda.h"
#include "core/cuda_check.h"

namespace hc {

void* CudaBackend::allocate(size_t bytes) {
  void* p = nullptr;
  cudaCheck(cudaMalloc(&p, bytes));
  return p;
}

void CudaBackend::deallocate(void* ptr, size_t) { cudaFree(ptr); }  // no throw from destructors

void CudaBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void CudaBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void CudaBackend::copy_on_device(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}
void CudaBackend::synchronize() { cudaCheck(cudaDeviceSynchronize()); }

// The backend if a usable GPU is present; otherwise nullptr and the reason.
Backend* cuda_backend_or_null(std::string* why_not) {
  static CudaBackend backend;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    if (why_not)
      *why_not = err != cudaSuccess ? cat("no usable GPU (", cudaGetErrorString(err), ")")
                                    : std::string("no GPU found");
    return nullptr;
  }
  return &backend;
}

}  // namespace hc
