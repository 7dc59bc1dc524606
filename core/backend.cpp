#include "core/backend.h"

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
    case UnaryOp::Relu: return "relu";
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
                    " backend"));
}

void Backend::unsupported(const char* op) const {
  throw Error(cat("op '", op, "' is not implemented on the ", name(), " backend"));
}


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
  if (device == Device::CPU) return cpu_backend_instance();
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
