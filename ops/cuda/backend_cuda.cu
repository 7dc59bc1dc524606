// The CUDA backend's device, stream, handles, memory and copies. Kernels: ops/cuda/*.cu.
#include "ops/cuda/backend_cuda.h"

#include "ops/cuda/cuda_check.h"

namespace hc {

CudaBackend::CudaBackend() {
  int dev = 0;
  cudaCheck(cudaGetDevice(&dev));
  cudaCheck(cudaGetDeviceProperties(&prop_, dev));
  cudaCheck(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  const CublasApi& blas = cublas_api();  // dlopen, see ops/cuda/cublas_api.h
  cublasCheck(blas.create(&cublas_));
  cublasCheck(blas.set_stream(cublas_, stream_));
  // Default math: cublasSgemm stays true float32 (cuBLAS, unlike cuDNN, never uses TF32 unless
  // asked), while the bf16 path's cublasGemmEx calls may use tensor cores.
  cublasCheck(blas.set_math_mode(cublas_, CUBLAS_DEFAULT_MATH));
  cudnnCheck(cudnnCreate(&cudnn_));
  cudnnCheck(cudnnSetStream(cudnn_, stream_));
  cudaCheck(cudaHostAlloc(reinterpret_cast<void**>(&flag_host_), 4 * sizeof(int), cudaHostAllocMapped));
  for (int i = 0; i < 4; ++i) flag_host_[i] = 0;
  cudaCheck(cudaHostGetDevicePointer(reinterpret_cast<void**>(&flag_device_), flag_host_, 0));
}
// No destructor: the backend lives until the process ends, and tensors in static storage may be
// freed after it would have been destroyed; deallocate() then only files blocks in a list.

void* CudaBackend::allocate(size_t bytes) { return allocator_.allocate(bytes); }
void CudaBackend::deallocate(void* ptr, size_t bytes) { allocator_.deallocate(ptr, bytes); }

Tensor CudaBackend::scratch(const Shape& shape, DType dtype) { return Tensor::empty_on(*this, shape, dtype); }

// Host-to-device from pageable memory returns once the source is staged, so the caller may free
// it at once; the copy itself is ordered on the stream with the kernels.
void CudaBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
}
void CudaBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  cudaCheck(cudaStreamSynchronize(stream_));
  check_index_errors();
}
void CudaBackend::copy_on_device(void* dst, const void* src, size_t bytes) {
  if (bytes && dst != src) cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}
void CudaBackend::synchronize() {
  cudaCheck(cudaStreamSynchronize(stream_));
  check_index_errors();
}

static const char* index_op_name(int op) {
  switch (static_cast<IndexErrorOp>(op)) {
    case IndexErrorOp::Embedding: return "embedding: token id";
    case IndexErrorOp::EmbeddingBackward: return "embedding_backward: token id";
    case IndexErrorOp::GatherRows: return "gather_rows: position";
    case IndexErrorOp::GatherRowsBackward: return "gather_rows_backward: position";
    case IndexErrorOp::BatchNorm: return "batch_norm: set_index";
    case IndexErrorOp::BatchNormBackward: return "batch_norm_backward: set_index";
    case IndexErrorOp::LayerNorm: return "layer_norm: set_index";
    case IndexErrorOp::LayerNormBackward: return "layer_norm_backward: set_index";
    case IndexErrorOp::None: break;
  }
  return "index";
}

void CudaBackend::check_index_errors() {
  volatile int* f = flag_host_;
  if (f[0] == 0) return;
  int op = f[0], value = f[1], bound = f[2], pos = f[3];
  f[1] = f[2] = f[3] = 0;
  f[0] = 0;
  throw Error(cat(index_op_name(op), " ", value, " at position ", pos, " is outside [0, ", bound,
                  ") (found by a CUDA kernel)"));
}

CudaBackend& cuda_backend() {
  static CudaBackend* backend = new CudaBackend();  // never destroyed, see above
  return *backend;
}

// The backend if a usable GPU is present; otherwise nullptr and the reason.
// Asked once per process (every Tensor::empty on CUDA comes through here).
Backend* cuda_backend_or_null(std::string* why_not) {
  static const std::string reason = [] {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      return cat("no usable GPU (", cudaGetErrorString(err), ")");
    }
    return count == 0 ? std::string("no GPU found") : std::string();
  }();
  if (!reason.empty()) {
    if (why_not) *why_not = reason;
    return nullptr;
  }
  return &cuda_backend();
}

}  // namespace hc
