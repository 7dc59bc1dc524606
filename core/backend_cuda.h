// The CUDA backend (float32 kernels; bf16 inputs to matrix products and convolutions in
// MathMode::BF16). Memory, the stream and the library handles are here (core/backend_cuda.cu);
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
#include "core/cuda_allocator.h"

namespace hc {

// Codes for index errors found inside kernels (see CudaBackend::index_error_flag).
enum class IndexErrorOp : int {
  None = 0, Embedding, EmbeddingBackward, GatherRows, GatherRowsBackward, SetMean, SetMeanBackward,
  SetMeanEmpty, BatchNorm, BatchNormBackward, LayerNorm, LayerNormBackward
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
  MemoryStats memory_stats() const override { return allocator_.stats(); }
  void empty_cache() override { allocator_.release_cached(); }
  void set_math_mode(MathMode mode) override { mode_ = mode; }
  MathMode math_mode() const override { return mode_; }

  void fill(Tensor& out, double value) override;
  void cast(const Tensor& x, Tensor& out) override;
  void unary(UnaryOp op, const Tensor& x, double alpha, Tensor& y) override;
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, double alpha,
                      Tensor& dx) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override;
  void reduce_sum(const Tensor& x, Tensor& out) override;
  void expand(const Tensor& x, Tensor& out) override;
  void permute(const Tensor& x, const std::vector<int>& perm, Tensor& out) override;
  void slice(const Tensor& x, int dim, int64_t start, Tensor& out) override;
  void slice_assign(const Tensor& src, int dim, int64_t start, Tensor& dst) override;
  void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
              double beta, Tensor& out) override;
  void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
              Tensor& y) override;
  void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Conv2dParams& p,
                       Tensor* dx, Tensor* dw, Tensor* dbias) override;
  void global_avg_pool(const Tensor& x, Tensor& y) override;
  void global_avg_pool_backward(const Tensor& dy, Tensor& dx) override;
  void batch_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                          const Tensor& set_index, const BatchNormParams& p, Tensor& running_mean,
                          Tensor& running_var, Tensor& y, Tensor& save_mean,
                          Tensor& save_invstd) override;
  void batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                           const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dy,
                           bool training, Tensor* dx, Tensor* dgamma, Tensor* dbeta) override;
  void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                          const Tensor& set_index, double eps, Tensor& y, Tensor& save_mean,
                          Tensor& save_invstd) override;
  void layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                           const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dy,
                           Tensor* dx, Tensor* dgamma, Tensor* dbeta) override;
  void softmax(const Tensor& x, Tensor& y) override;
  void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx) override;
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale,
                 Tensor& out, Tensor& aux) override;
  void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                          const Tensor& aux, const Tensor& dout, bool causal, double scale,
                          Tensor* dq, Tensor* dk, Tensor* dv) override;
  void embedding(const Tensor& weight, const Tensor& ids, Tensor& out) override;
  void embedding_backward(const Tensor& ids, const Tensor& dy, Tensor& dweight) override;
  void gather_rows(const Tensor& x, const Tensor& index, Tensor& out) override;
  void gather_rows_backward(const Tensor& index, const Tensor& dy, Tensor& dx) override;
  void set_mean(const Tensor& x, const Tensor& set_index, Tensor& out) override;
  void set_mean_backward(const Tensor& set_index, const Tensor& dy, Tensor& dx) override;
  void l2_normalize(const Tensor& x, double eps, Tensor& y, Tensor& norms) override;
  void l2_normalize_backward(const Tensor& y, const Tensor& norms, const Tensor& dy, double eps,
                             Tensor& dx) override;
  void siglip_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b,
                   Tensor& loss) override;
  void siglip_loss_backward(const Tensor& v, const Tensor& e, const Tensor& t_prime,
                            const Tensor& b, const Tensor& dloss, Tensor* dv, Tensor* de,
                            Tensor* dt_prime, Tensor* db) override;
  void soft_cross_entropy(const Tensor& logits, const Tensor& target, Tensor& loss) override;
  void soft_cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss,
                                   Tensor* dlogits, Tensor* dtarget) override;
  void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int64_t step) override;

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
