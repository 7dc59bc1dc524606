// Simple reference versions of CPU kernels that have a faster path beside them. Each is the
// readable definition of what its kernel computes; the op registry's fast-vs-reference mode
// (tests/op_registry.h) checks that the fast kernel agrees with it.
#pragma once
#include "core/backend.h"
#include "core/tensor.h"

namespace hc {

// The switch between the fast paths and these references. When on, every CPU kernel that has a
// reference below runs it instead of its fast path. Off by default; on for the whole process when
// the environment sets HC_CPU_REFERENCE=1 (the engine then runs on the plain loops: slower, and
// easier to step through), and inside a ReferenceKernels scope (the registry's test mode).
bool reference_kernels();
void set_reference_kernels(bool on);
struct ReferenceKernels {
  bool saved = reference_kernels();
  explicit ReferenceKernels(bool on) { set_reference_kernels(on); }
  ~ReferenceKernels() { set_reference_kernels(saved); }
};

// reduce_sum (core/backend.h): one double accumulator per output, summed in x's element order.
void reduce_sum_reference(const Tensor& x, Tensor& out);

// matmul (core/backend.h): out[b] = alpha * op(a[b]) op(b[b]) + beta * out[b], three plain loops
// with a double accumulator.
void matmul_reference(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, double alpha,
                      double beta, Tensor& out);

// unary / unary_backward (core/backend.h): one scalar libm evaluation per element.
void unary_reference(UnaryOp op, const Tensor& x, double alpha, Tensor& y);
void unary_backward_reference(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                              double alpha, Tensor& dx);

// layer_norm_forward (core/kernels.def): per row, sequential double sums (mean, then the squared
// deviations), the output computed in double.
void layer_norm_forward_reference(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& set_index,
                                  double eps, Tensor& y, Tensor& save_mean, Tensor& save_invstd);

// layer_norm_backward (core/backend.h): dgamma / dbeta one column at a time down the rows, dx
// with sequential double sums per row.
void layer_norm_backward_reference(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                   const Tensor& save_mean, const Tensor& save_invstd,
                                   const Tensor& dy, Tensor* dx, Tensor* dgamma, Tensor* dbeta);

// conv2d / conv2d_backward (core/backend.h) for depthwise convolutions (groups == Cin, Cout a
// multiple of Cin: output channel o reads input channel o / (Cout / Cin)):
// one output (one dy element) at a time, every tap tested against the padding.
void conv2d_depthwise_reference(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                                Tensor& y);
void conv2d_depthwise_backward_reference(const Tensor& x, const Tensor& w, const Tensor& dy,
                                         const Conv2dParams& p, Tensor* dx, Tensor* dw, Tensor* dbias);

// batch_norm_forward / batch_norm_backward (core/kernels.def): per channel, double accumulators,
// two passes over x for the statistics (the mean, then the squared deviations from it).
void batch_norm_forward_reference(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& set_index,
                                  const BatchNormParams& p, Tensor& running_mean, Tensor& running_var, Tensor& y,
                                  Tensor& save_mean, Tensor& save_invstd);
void batch_norm_backward_reference(const Tensor& x, const Tensor& gamma, const Tensor& set_index,
                                   const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dy,
                                   bool training, Tensor* dx, Tensor* dgamma, Tensor* dbeta);

// self_attention / self_attention_backward (core/kernels.def): one (sample, head) at a time, double
// accumulators, every sum in index order; aux is allocated by the caller ([N, H, L, L]).
void self_attention_reference(const Tensor& qkv, int64_t heads, bool causal, double scale, Tensor& out,
                              Tensor& aux);
void self_attention_backward_reference(const Tensor& qkv, const Tensor& out, const Tensor& aux,
                                       const Tensor& dout, int64_t heads, bool causal, double scale,
                                       Tensor& dqkv);

}  // namespace hc
