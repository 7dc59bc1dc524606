#include "core/backend.h"

#include "core/backend_cpu.h"
#include "core/error.h"

namespace hc {

const char* unary_op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return "neg";
    case UnaryOp::Exp: return "exp";
    case UnaryOp::Log: return "log";
    case UnaryOp::Sqrt: return "sqrt";
    case UnaryOp::Sigmoid: return "sigmoid";
    case UnaryOp::Silu: return "silu";
    case UnaryOp::Gelu: return "gelu";
    case UnaryOp::Softplus: return "softplus";
    case UnaryOp::Scale: return "scale";
    case UnaryOp::AddScalar: return "add_scalar";
  }
  return "?";
}

const char* binary_op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
  }
  return "?";
}

const char* math_mode_name(MathMode m) { return m == MathMode::FP32 ? "fp32" : "bf16"; }

void Backend::set_math_mode(MathMode mode) {
  if (mode != MathMode::FP32)
    throw Error(cat("math mode ", math_mode_name(mode), " is not available on the ", name(),
                    " backend (bf16 mixed precision needs --device cuda)"));
}

void Backend::unsupported(const char* op) const {
  throw Error(cat("op '", op, "' is not implemented on the ", name(), " backend"));
}

// Defaults: a backend that does not override a kernel refuses loudly.
void Backend::fill(Tensor&, double) { unsupported("fill"); }
void Backend::cast(const Tensor&, Tensor&) { unsupported("cast"); }
void Backend::unary(UnaryOp op, const Tensor&, double, Tensor&) { unsupported(unary_op_name(op)); }
void Backend::unary_backward(UnaryOp op, const Tensor&, const Tensor&, const Tensor&, double,
                             Tensor&) {
  unsupported(unary_op_name(op));
}
void Backend::binary(BinaryOp op, const Tensor&, const Tensor&, Tensor&) {
  unsupported(binary_op_name(op));
}
void Backend::reduce_sum(const Tensor&, Tensor&) { unsupported("reduce_sum"); }
void Backend::expand(const Tensor&, Tensor&) { unsupported("expand"); }
void Backend::permute(const Tensor&, const std::vector<int>&, Tensor&) { unsupported("permute"); }
void Backend::slice(const Tensor&, int, int64_t, Tensor&) { unsupported("slice"); }
void Backend::slice_assign(const Tensor&, int, int64_t, Tensor&) { unsupported("slice_assign"); }
void Backend::matmul(const Tensor&, bool, const Tensor&, bool, double, double, Tensor&) {
  unsupported("matmul");
}
void Backend::conv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&, Tensor&) {
  unsupported("conv2d");
}
void Backend::conv2d_backward(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&,
                              Tensor*, Tensor*, Tensor*) {
  unsupported("conv2d_backward");
}
void Backend::global_avg_pool(const Tensor&, Tensor&) { unsupported("global_avg_pool"); }
void Backend::global_avg_pool_backward(const Tensor&, Tensor&) {
  unsupported("global_avg_pool_backward");
}
void Backend::batch_norm_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                 const BatchNormParams&, Tensor&, Tensor&, Tensor&, Tensor&,
                                 Tensor&) {
  unsupported("batch_norm");
}
void Backend::batch_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                  const Tensor&, const Tensor&, bool, Tensor*, Tensor*, Tensor*) {
  unsupported("batch_norm_backward");
}
void Backend::layer_norm_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, double,
                                 Tensor&, Tensor&, Tensor&) {
  unsupported("layer_norm");
}
void Backend::layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                  const Tensor&, const Tensor&, Tensor*, Tensor*, Tensor*) {
  unsupported("layer_norm_backward");
}
void Backend::softmax(const Tensor&, Tensor&) { unsupported("softmax"); }
void Backend::softmax_backward(const Tensor&, const Tensor&, Tensor&) {
  unsupported("softmax_backward");
}
void Backend::attention(const Tensor&, const Tensor&, const Tensor&, bool, double, Tensor&,
                        Tensor&) {
  unsupported("attention");
}
void Backend::attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                 const Tensor&, const Tensor&, bool, double, Tensor*, Tensor*,
                                 Tensor*) {
  unsupported("attention_backward");
}
void Backend::embedding(const Tensor&, const Tensor&, Tensor&) { unsupported("embedding"); }
void Backend::embedding_backward(const Tensor&, const Tensor&, Tensor&) {
  unsupported("embedding_backward");
}
void Backend::gather_rows(const Tensor&, const Tensor&, Tensor&) { unsupported("gather_rows"); }
void Backend::gather_rows_backward(const Tensor&, const Tensor&, Tensor&) {
  unsupported("gather_rows_backward");
}
void Backend::set_mean(const Tensor&, const Tensor&, Tensor&) { unsupported("set_mean"); }
void Backend::set_mean_backward(const Tensor&, const Tensor&, Tensor&) {
  unsupported("set_mean_backward");
}
void Backend::l2_normalize(const Tensor&, double, Tensor&, Tensor&) {
  unsupported("l2_normalize");
}
void Backend::l2_normalize_backward(const Tensor&, const Tensor&, const Tensor&, double, Tensor&) {
  unsupported("l2_normalize_backward");
}
void Backend::siglip_loss(const Tensor&, const Tensor&, const Tensor&, const Tensor&, Tensor&) {
  unsupported("siglip_loss");
}
void Backend::siglip_loss_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                   const Tensor&, Tensor*, Tensor*, Tensor*, Tensor*) {
  unsupported("siglip_loss_backward");
}
void Backend::soft_cross_entropy(const Tensor&, const Tensor&, Tensor&) {
  unsupported("soft_cross_entropy");
}
void Backend::soft_cross_entropy_backward(const Tensor&, const Tensor&, const Tensor&, Tensor*,
                                          Tensor*) {
  unsupported("soft_cross_entropy_backward");
}

void Backend::adamw_step(Tensor&, const Tensor&, Tensor&, Tensor&, double, double, double, double,
                         double, int64_t) {
  unsupported("adamw_step");
}

#ifdef HC_CUDA
Backend* cuda_backend_or_null(std::string* why_not);  // core/backend_cuda.cu
#endif

bool cuda_available(std::string* why_not) {
#ifdef HC_CUDA
  return cuda_backend_or_null(why_not) != nullptr;
#else
  if (why_not) *why_not = "this build of hyperclip has no CUDA backend (nvcc was not found at build time)";
  return false;
#endif
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  HC_CHECK(name == "cuda", "unknown --device '", name, "' (expected cpu or cuda)");
  std::string why;
  HC_CHECK(cuda_available(&why), "--device cuda: ", why);
  return Device::CUDA;
}

MathMode parse_math_mode(const std::string& name) {
  if (name == "fp32") return MathMode::FP32;
  HC_CHECK(name == "bf16", "unknown --precision '", name, "' (expected fp32 or bf16)");
  return MathMode::BF16;
}

Backend& backend_for(Device device) {
  if (device == Device::CPU) return cpu_backend();
#ifdef HC_CUDA
  std::string why;
  if (Backend* b = cuda_backend_or_null(&why)) return *b;
  throw Error("CUDA requested but unavailable: " + why);
#else
  std::string why;
  cuda_available(&why);
  throw Error("CUDA requested but unavailable: " + why);
#endif
}

}  // namespace hc
