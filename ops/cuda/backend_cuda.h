// The CUDA backend (float32 kernels; bf16 inputs to matrix products and convolutions in
// MathMode::BF16). Memory, the stream and the library handles are here (ops/cuda/backend_cuda.cu);
// each kernel's definition lives beside its op, in ops/cuda/<op>_cuda.cu. Included only by .cu
// files: the rest of the engine reaches this backend through core/backend.h.
//
// Everything runs on one stream; cuBLAS and cuDNN are bound to it. Host code never waits for the
// GPU except in copy_to_host and synchronize(), which is also where index errors detected inside
// kernels (an embedding id outside the table, ...) are reported.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "core/backend.h"
#include "ops/cuda/cuda_allocator.h"

namespace hc {

// Codes for index errors found inside kernels (see CudaBackend::index_error_flag).
enum class IndexErrorOp : int {
  None = 0, Embedding, EmbeddingBackward, GatherRows, GatherRowsBackward, BatchNorm, BatchNormBackward,
  LayerNorm, LayerNormBackward
};

class CudaBackend final : public Backend {
 public:
  CudaBackend();  // creates the stream, handles and error flag: only call with a GPU present
  Device device() const override { return Device::CUDA; }
  std::string name() const override { return "CUDA"; }
  std::string hardware_name() const override { return prop_.name; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_on_device(void* dst, const void* src, size_t bytes) override;
  void synchronize() override;
  void* native_stream() const override { return stream_; }
  MemoryStats memory_stats() const override { return allocator_.stats(); }
  void reset_peak_memory() override { allocator_.reset_peak(); }
  void empty_cache() override { allocator_.release_cached(); }
  void set_math_mode(MathMode mode) override { mode_ = mode; }
  MathMode math_mode() const override { return mode_; }

  // The kernels of core/kernels.def, each defined in ops/cuda/<op>_cuda.cu.
#define HC_KERNEL(name, params) void name params override;
#include "core/kernels.def"
#undef HC_KERNEL

  // ---- for the kernels in ops/cuda ------------------------------------------------------------
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  const cudaDeviceProp& properties() const { return prop_; }
  // int[4] in mapped host memory that kernels write on a bad index: {IndexErrorOp, value, bound,
  // position}; the first error wins. Checked (and cleared) after every wait for the stream.
  int* index_error_flag() const { return flag_device_; }
  // A float32 scratch tensor on this backend (from the caching allocator).
  Tensor scratch(const Shape& shape, DType dtype = DType::F32);

  // Batched GEMM on raw row-major device pointers, the semantics of Backend::matmul:
  // out[i] = alpha * op(a[i]) @ op(b[i]) + beta * out[i], i < batch; a_stride/b_stride are the
  // element offsets between matrices (0 shares one). In MathMode::BF16 a and b are rounded to
  // bfloat16 first (scratch copies) and the product accumulates in float32, unless
  // allow_bf16 is false (the loss's logits stay float32 in every mode).
  void gemm(const float* a, bool trans_a, int64_t a_stride, const float* b, bool trans_b,
            int64_t b_stride, float* out, int64_t batch, int64_t M, int64_t N, int64_t K,
            float alpha, float beta, bool allow_bf16 = true);

 private:
  void check_index_errors();

  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  cudaDeviceProp prop_{};
  CudaAllocator allocator_;
  int* flag_host_ = nullptr;
  int* flag_device_ = nullptr;
  MathMode mode_ = MathMode::FP32;
};

// The CUDA backend (created on first use). Only call once cuda_available() said yes.
CudaBackend& cuda_backend();

}  // namespace hc
