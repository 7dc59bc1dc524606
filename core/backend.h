// Backend: the kernels one device provides. The autograd ops in ops/ call these and never touch
// memory directly, so a model runs on any backend that implements the kernels it uses.
//
// Every kernel has a default that throws "op X is not implemented on backend Y": an op missing on
// a backend is a loud error, never a silent fallback to another device.
//
// Conventions for every kernel:
//  - outputs are allocated by the caller (ops/) with the right shape, dtype and device, and are
//    fully overwritten unless the kernel says it accumulates;
//  - all floating tensors of one call share one dtype (F32 or F64 on the CPU);
//  - index tensors (ids, set_index, positions) are I32 on the same device;
//  - optional outputs are pointers; nullptr means "not needed".
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace hc {

enum class UnaryOp {
  Neg,        // -x
  Exp,        // e^x
  Log,        // ln x
  Sqrt,       // sqrt x
  Sigmoid,    // 1/(1+e^-x)
  Silu,       // x*sigmoid(x)
  Gelu,       // x/2 * (1 + erf(x/sqrt2))   (erf form, not the tanh approximation)
  Softplus,   // max(x,0) + log1p(e^-|x|)
  Scale,      // alpha*x
  AddScalar,  // x + alpha
};
const char* unary_op_name(UnaryOp op);

enum class BinaryOp { Add, Sub, Mul, Div };
const char* binary_op_name(BinaryOp op);

struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int groups = 1;
};

struct BatchNormParams {
  bool training = true;   // batch statistics (and running-stat update) vs running statistics
  double momentum = 0.1;  // PyTorch convention: running = (1-m)*running + m*batch
  double eps = 1e-5;
};

// Arithmetic of matrix products and convolutions. FP32: float32 throughout. BF16 (CUDA only):
// their inputs are rounded to bfloat16 and products accumulate in float32. Matrix products write
// float32 outputs; cuDNN convolutions (whose legacy API wants x, w and y in one type) write bf16
// outputs, widened to float32 at once, as PyTorch's autocast does. Depthwise convolutions, every
// other kernel, the parameters (master weights) and the optimiser stay float32.
enum class MathMode { FP32, BF16 };
const char* math_mode_name(MathMode m);

// Device-memory accounting of a backend's allocator (all zeros on the CPU, which uses malloc).
struct MemoryStats {
  int64_t bytes_in_use = 0;        // held by live tensors
  int64_t bytes_cached = 0;        // freed by tensors, kept for reuse
  int64_t device_allocations = 0;  // calls to the device allocator (cudaMalloc) so far
  int64_t device_frees = 0;        // blocks handed back to the device (cudaFree) so far
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string name() const = 0;
  // The hardware, for benchmark reports: the GPU's name on CUDA (e.g. "NVIDIA H100 80GB HBM3").
  virtual std::string hardware_name() const { return name(); }

  // ---- memory ---------------------------------------------------------------------------------
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_on_device(void* dst, const void* src, size_t bytes) = 0;
  virtual void synchronize() {}
  virtual MemoryStats memory_stats() const { return {}; }
  // Hands the allocator's cached blocks back to the device (torch.cuda.empty_cache); no-op on the CPU.
  virtual void empty_cache() {}

  // ---- arithmetic mode ------------------------------------------------------------------------
  // The CPU backend has only FP32 and refuses BF16.
  virtual void set_math_mode(MathMode mode);
  virtual MathMode math_mode() const { return MathMode::FP32; }

  // ---- elementwise ----------------------------------------------------------------------------
  virtual void fill(Tensor& out, double value);
  // out = x converted to out's dtype (same shape). Covers F32<->F64 and I32->float.
  virtual void cast(const Tensor& x, Tensor& out);
  // y = op(x); alpha is the scalar of Scale / AddScalar. y may alias x.
  virtual void unary(UnaryOp op, const Tensor& x, double alpha, Tensor& y);
  // dx = dy * op'(x); y = op(x) is given for ops whose derivative is cheaper from it.
  virtual void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                              double alpha, Tensor& dx);
  // out = a op b with numpy broadcasting; out has the broadcast shape and may alias a or b when
  // it has that one's shape.
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);

  // ---- reductions and layout ------------------------------------------------------------------
  // out has x's rank with some dims equal to 1: sums x over those dims.
  virtual void reduce_sum(const Tensor& x, Tensor& out);
  // out = x broadcast to out's shape (x's dims are 1 or equal, right-aligned).
  virtual void expand(const Tensor& x, Tensor& out);
  // out[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}]: out.shape[k] = x.shape[perm[k]].
  virtual void permute(const Tensor& x, const std::vector<int>& perm, Tensor& out);
  // out = x[..., start:start+out.shape[dim], ...] along dim.
  virtual void slice(const Tensor& x, int dim, int64_t start, Tensor& out);
  // dst[..., start:start+src.shape[dim], ...] = src along dim (the rest of dst untouched).
  virtual void slice_assign(const Tensor& src, int dim, int64_t start, Tensor& dst);

  // ---- matrix products ------------------------------------------------------------------------
  // Batched GEMM on rank-3 tensors: out[b] = alpha * op(a[b]) @ op(b[b]) + beta * out[b].
  // a: [Ba, M, K] ([Ba, K, M] if trans_a); b: [Bb, K, N] ([Bb, N, K] if trans_b) with Bb equal
  // to Ba or 1 (one matrix shared by the batch); out: [Ba, M, N]. beta = 0 ignores out's content.
  virtual void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
                      double beta, Tensor& out);

  // ---- convolution and pooling ----------------------------------------------------------------
  // x [N, Cin, H, W], w [Cout, Cin/groups, KH, KW], bias [Cout] or undefined,
  // y [N, Cout, OH, OW] with OH = (H + 2*pad_h - KH)/stride_h + 1.
  virtual void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                      Tensor& y);
  virtual void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy,
                               const Conv2dParams& p, Tensor* dx, Tensor* dw, Tensor* dbias);
  // x [N, C, H, W] -> y [N, C]
  virtual void global_avg_pool(const Tensor& x, Tensor& y);
  virtual void global_avg_pool_backward(const Tensor& dy, Tensor& dx);

  // ---- normalisation --------------------------------------------------------------------------
  // Scale and shift come per sample set: gamma, beta [S, C]; sample n uses row set_index[n]
  // (set_index I32 [N]; undefined when S == 1). Statistics never depend on gamma or beta.
  //
  // Batch norm: x [N, C, *spatial]. Training: per-channel batch mean and biased variance over
  // N and spatial; running_mean/var [C] updated in place (unbiased variance, as PyTorch).
  // Evaluation: running statistics. Either way save_mean/save_invstd [C] receive the statistics
  // used, for the backward pass.
  virtual void batch_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& set_index, const BatchNormParams& p,
                                  Tensor& running_mean, Tensor& running_var, Tensor& y,
                                  Tensor& save_mean, Tensor& save_invstd);
  // dgamma/dbeta [S, C] are overwritten. training selects the batch-statistics gradient.
  virtual void batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                   const Tensor& save_mean, const Tensor& save_invstd,
                                   const Tensor& dy, bool training, Tensor* dx, Tensor* dgamma,
                                   Tensor* dbeta);
  // Layer norm over the last dim D of x [N, ..., D]; the sample index n of a row is its index in
  // the first dim. save_mean/save_invstd: one value per row (numel/D).
  virtual void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& set_index, double eps, Tensor& y,
                                  Tensor& save_mean, Tensor& save_invstd);
  virtual void layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                   const Tensor& save_mean, const Tensor& save_invstd,
                                   const Tensor& dy, Tensor* dx, Tensor* dgamma, Tensor* dbeta);

  // ---- softmax and attention ------------------------------------------------------------------
  // Softmax over the last dim.
  virtual void softmax(const Tensor& x, Tensor& y);
  virtual void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx);
  // Scaled dot-product attention: q [B, H, T, Dh], k and v [B, H, S, Dh], out [B, H, T, Dh],
  // out = softmax(scale * q kᵀ + mask) v; causal masks key j > query i (needs T == S).
  // aux is allocated by the backend: whatever it keeps for the backward pass.
  virtual void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                         double scale, Tensor& out, Tensor& aux);
  virtual void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& aux, const Tensor& dout,
                                  bool causal, double scale, Tensor* dq, Tensor* dk, Tensor* dv);

  // ---- lookups --------------------------------------------------------------------------------
  // weight [V, D], ids I32 [*] -> out [*, D]. An id outside [0, V) is an error.
  virtual void embedding(const Tensor& weight, const Tensor& ids, Tensor& out);
  // dweight [V, D] accumulates (scatter-add) dy rows; the caller zero-fills it.
  virtual void embedding_backward(const Tensor& ids, const Tensor& dy, Tensor& dweight);
  // x [N, T, D], index I32 [N] -> out [N, D] = x[n, index[n], :]
  virtual void gather_rows(const Tensor& x, const Tensor& index, Tensor& out);
  // dx [N, T, D] is overwritten: zero except the gathered rows.
  virtual void gather_rows_backward(const Tensor& index, const Tensor& dy, Tensor& dx);
  // x [N, F], set_index I32 [N] with values in [0, S) -> out [S, F]: mean of each set's rows.
  // Every set must be non-empty.
  virtual void set_mean(const Tensor& x, const Tensor& set_index, Tensor& out);
  virtual void set_mean_backward(const Tensor& set_index, const Tensor& dy, Tensor& dx);

  // ---- normalisation of embeddings and losses -------------------------------------------------
  // y = x / max(||x||, eps) over the last dim; norms [rows] keeps ||x||.
  virtual void l2_normalize(const Tensor& x, double eps, Tensor& y, Tensor& norms);
  virtual void l2_normalize_backward(const Tensor& y, const Tensor& norms, const Tensor& dy,
                                     double eps, Tensor& dx);
  // SigLIP (SPEC 1.5): v [n, E] images, e [n, E] texts, t_prime and b one element each;
  // loss (one element) = (1/n) sum_ij softplus(-z_ij (exp(t') v_i.e_j + b)), z_ii = 1 else -1.
  virtual void siglip_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime,
                           const Tensor& b, Tensor& loss);
  // dloss: one element, the upstream gradient. Outputs overwritten.
  virtual void siglip_loss_backward(const Tensor& v, const Tensor& e, const Tensor& t_prime,
                                    const Tensor& b, const Tensor& dloss, Tensor* dv, Tensor* de,
                                    Tensor* dt_prime, Tensor* db);
  // logits [n, K], target [n, K] (rows of probabilities):
  // loss (one element) = -(1/n) sum_i sum_k target_ik log_softmax(logits_i)_k
  virtual void soft_cross_entropy(const Tensor& logits, const Tensor& target, Tensor& loss);
  virtual void soft_cross_entropy_backward(const Tensor& logits, const Tensor& target,
                                           const Tensor& dloss, Tensor* dlogits, Tensor* dtarget);

  // ---- optimiser ------------------------------------------------------------------------------
  // One AdamW update in place, PyTorch's arithmetic (torch.optim.AdamW, single-tensor path):
  //   p -= lr*wd*p;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g²;
  //   p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)    with bc_i = 1 - b_i^step.
  virtual void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, double lr,
                          double beta1, double beta2, double eps, double weight_decay,
                          int64_t step);

 protected:
  [[noreturn]] void unsupported(const char* op) const;
};

// The backend that owns tensors on `device`. The CUDA backend exists only in builds with CUDA
// and on machines with a GPU; asking for it otherwise throws with the reason.
Backend& backend_for(Device device);
bool cuda_available(std::string* why_not = nullptr);
// The device a --device option names ("cpu" or "cuda"); "cuda" without a usable GPU (or in a build
// without the CUDA backend) is an error that says why.
Device parse_device(const std::string& name);
// The math mode a --precision option names ("fp32" or "bf16").
MathMode parse_math_mode(const std::string& name);

}  // namespace hc
