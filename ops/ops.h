// The autograd ops: every computation a model makes goes through these functions. Each op checks
// its inputs, runs its kernel on the inputs' backend, and records a tape node whose backward
// function computes the input gradients with more kernels. One file per op family: ops/<op>.cpp
// (this API and the backward), ops/cpu/<op>_cpu.cpp (CPU kernels), ops/cuda/<op>_cuda.cu (CUDA
// kernels), tests/test_<op>.cpp (its cases in the op registry).
#pragma once
#include <vector>

#include "core/backend.h"
#include "core/communicator.h"
#include "core/tensor.h"

namespace hc {

// ---- elementwise: ops/binary.cpp, ops/unary.cpp ------------------------------------------------
// Numpy broadcasting; gradients are summed back to each input's shape.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);
Tensor gelu(const Tensor& x);  // erf form
Tensor relu(const Tensor& x);  // max(x, 0)
Tensor softplus(const Tensor& x);
Tensor scale(const Tensor& x, double alpha);       // alpha * x
Tensor add_scalar(const Tensor& x, double alpha);  // x + alpha

// ---- reductions: ops/reduce.cpp ----------------------------------------------------------------
// Over the given dims (negative counts from the end); keepdim keeps them as size 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor sum_all(const Tensor& x);  // 0-dim result
// Sums x down to `shape` (the inverse of broadcasting); used by broadcasting backward passes.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- layout: ops/reshape.cpp, ops/permute.cpp, ops/slice.cpp, ops/concat.cpp -------------------
Tensor reshape(const Tensor& x, const Shape& shape);  // a view; one dim may be -1
Tensor permute(const Tensor& x, const std::vector<int>& perm);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);  // x[..., start:end, ...]
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);

// ---- matrix products: ops/matmul.cpp -----------------------------------------------------------
// a [..., M, K] @ b [..., K, N] (with the flags, the last two dims of a or b are swapped).
// b may be 2-D (shared across a's batch) or have a's batch dims.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
// x [..., in] @ weight[out, in]ᵀ + bias[out] (bias may be undefined).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- convolution and pooling: ops/conv2d.cpp, ops/global_avg_pool.cpp --------------------------
// x [N, Cin, H, W], weight [Cout, Cin/groups, KH, KW], bias [Cout] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride = 1,
              int padding = 0, int groups = 1);
// The same with stride and padding per axis (e.g. a 1×11 kernel along a sequence seen as a 1×T
// image: padding 0×5).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p);
Tensor global_avg_pool(const Tensor& x);  // [N, C, H, W] -> [N, C]

// ---- normalisation: ops/batch_norm.cpp, ops/layer_norm.cpp -------------------------------------
// gamma and beta are [C] (one set) or [S, C] with set_index I32 [N] choosing each sample's row
// (SPEC 1.4: per-set generated parameters). They may be the outputs of other ops (γ0 + dγ);
// gradients flow into them. running_mean/var [C] are buffers, updated in place in training.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum = 0.1, double eps = 1e-5, const Tensor& set_index = Tensor());
// Over the last dim of x [N, ..., D]; gamma, beta [D] or [S, D] with set_index [N].
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps = 1e-5,
                  const Tensor& set_index = Tensor());

// ---- softmax and attention: ops/softmax.cpp, ops/attention.cpp ---------------------------------
Tensor softmax(const Tensor& x);  // over the last dim
// q [B, H, T, Dh], k, v [B, H, S, Dh] -> [B, H, T, Dh]; scale 1/sqrt(Dh).
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal);
// Multi-head self-attention on packed projections (ops/self_attention.cpp): qkv [N, L, 3D]
// (q | k | v, heads of D / heads columns each) -> [N, L, D], the heads merged; scale
// 1/sqrt(D / heads). The same as splitting qkv into [N, heads, L, Dh] tensors, attention, and
// merging the heads back, without the copies.
Tensor self_attention(const Tensor& qkv, int64_t heads, bool causal);

// ---- lookups: ops/embedding.cpp, ops/gather_rows.cpp ---------------------------------------------
Tensor embedding(const Tensor& weight, const Tensor& ids);     // [V, D], I32 [*] -> [*, D]
Tensor gather_rows(const Tensor& x, const Tensor& index);      // [N, T, D], I32 [N] -> [N, D]

// ---- embeddings and losses: ops/l2_normalize.cpp, ops/siglip_loss.cpp,
//      ops/soft_cross_entropy.cpp ----------------------------------------------------------------
Tensor l2_normalize(const Tensor& x, double eps = 1e-12);  // over the last dim
// SPEC 1.5. v, e [n, E] (L2-normalised), t_prime and b one element each -> 0-dim loss.
Tensor siglip_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b);
// logits, target [n, K] -> 0-dim mean over rows of -sum_k target log_softmax(logits).
Tensor soft_cross_entropy(const Tensor& logits, const Tensor& target);

// ---- distillation (SPEC 2.2): ops/distillation_loss.cpp, compositions of the ops above ---------
// The soft targets of one direction: rows [n, D] and cols [m, D] hold K teachers' L2-normalised
// embeddings side by side (widths dims[0..K)); the result [n, m] is the average over teachers of
// softmax(scale_by * rows_k cols_kᵀ) by row. Not recorded on the tape (the targets are constants).
// Image-to-text targets: distillation_targets(teacher_images, teacher_texts, dims); text-to-image:
// the same with the two swapped.
Tensor distillation_targets(const Tensor& rows, const Tensor& cols, const std::vector<int64_t>& dims,
                            double scale_by = 100.0);
// ½(CE(softmax(t·v eᵀ), target_i2t) + CE(softmax(t·e vᵀ), target_t2i)), t = exp(t'): the student's
// image embeddings v [n, E] and text embeddings e [m, E] (L2-normalised) against the targets
// [n, m] and [m, n]; each cross-entropy is a mean over its rows. 0-dim.
Tensor distillation_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& target_i2t,
                         const Tensor& target_t2i);
// ---- across processes (SPEC §6): ops/siglip_loss.cpp, ops/all_gather.cpp, ops/batch_norm.cpp -----
// Each rank calls these in the same order with same-shaped inputs; they exchange tensors only
// through the Communicator (core/communicator.h), in the forward pass and in their backward pass.
//
// This rank's share of the SigLIP loss of the global batch: its n images v [n, E] against the texts
// of every rank (e [n, E] holds its own), all B = N·n of them, divided by B. The global loss is the
// sum of the ranks' shares. Backward leaves this share's gradients, with every text's gradient summed
// over all ranks' shares and returned to the rank that owns the text, so that summing the parameter
// gradients over ranks (the trainer's all-reduce) gives the gradient of the global loss.
//   Gather: all-gather the texts (B×E), one n×B block; backward reduce-scatters the text gradients.
//   Ring: N blocks of n×n, passing the texts to the next rank N-1 times; backward walks the ring the
//   other way, passing each text block with its gradient so far, and each block ends at its owner.
//   Memory O(n·E) instead of O(B·E), at N-1 messages each way instead of one collective.
enum class SiglipDist { Gather, Ring };
SiglipDist parse_siglip_dist(const std::string& name);  // "gather" | "ring"
Tensor siglip_loss_distributed(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b,
                               Communicator& comm, SiglipDist how = SiglipDist::Gather);
// x [n, ...] -> [N·n, ...]: every rank's x in rank order. Backward sums each rank's block of the
// gradient over ranks back to that rank (reduce-scatter).
Tensor all_gather(const Tensor& x, Communicator& comm);
// batch_norm in training mode with statistics over every rank's samples (PyTorch's SyncBatchNorm):
// the mean and variance are all-reduced in the forward pass, the two per-channel sums of the input
// gradient in the backward pass. Every rank's x has the same shape (the trainer keeps equal slices).
// Equals batch_norm on the ranks' inputs concatenated, to summation order. running_mean/var are
// updated from the global statistics, identically on every rank.
Tensor sync_batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                       const Tensor& running_var, Communicator& comm, double momentum = 0.1, double eps = 1e-5,
                       const Tensor& set_index = Tensor());

// ---- helpers for op implementations: ops/op_checks.cpp -----------------------------------------
// Throws unless every defined tensor is floating, on one device, of one dtype.
void check_same_float(const char* op, const std::vector<Tensor>& ts);
// Throws unless t is defined with the given rank.
void check_rank(const char* op, const char* what, const Tensor& t, int64_t rank);
// Throws unless t is an I32 tensor on `device`.
void check_index(const char* op, const char* what, const Tensor& t, Device device);
// Allocates an output on `like`'s backend, with its dtype and the given shape.
Tensor empty_like_shape(const Tensor& like, const Shape& shape);
Tensor zeros_like_shape(const Tensor& like, const Shape& shape);

}  // namespace hc
