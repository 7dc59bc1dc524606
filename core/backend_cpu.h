// The CPU backend: Eigen for matrix products, OpenMP loops for the rest, float32 and float64.
// Memory is here (core/backend_cpu.cpp); each kernel's definition lives beside its op, in
// ops/cpu/<op>_cpu.cpp.
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
  // Bytes of tensor memory live now, and the most live at once since the last reset (bench).
  size_t live_bytes() const { return live_; }
  size_t peak_live_bytes() const { return peak_live_; }
  void reset_peak_live_bytes() { peak_live_ = live_.load(); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_on_device(void* dst, const void* src, size_t bytes) override;

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
