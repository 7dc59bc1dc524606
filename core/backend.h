// Backend: the memory and the kernels of one device. The autograd ops in ops/ call these and never
// touch memory directly, so a model runs on any backend.
//
// The kernels and their contracts are listed once, in core/kernels.def; here they become virtual
// functions whose defaults refuse loudly, and each backend declares its overrides from the same
// list (ops/cpu/backend_cpu.h, ops/cuda/backend_cuda.h). core/ knows no backend: the backends live
// with their kernels in ops/cpu and ops/cuda and are reached through backend_for() below.
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
  Relu,       // max(x, 0); derivative 0 at x = 0 (PyTorch's convention)
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

// Arithmetic of matrix products and convolutions. FP32: float32 throughout. BF16: their float32
// inputs are rounded to bfloat16 and products accumulate in float32. Matrix products write
// float32 outputs; cuDNN convolutions (whose legacy API wants x, w and y in one type) write bf16
// outputs, widened to float32 at once, as PyTorch's autocast does; the CPU's convolutions write
// float32 (ops/cpu/gemm_bf16_cpu.h). Depthwise convolutions, attention (on the CPU), every other
// kernel, the parameters (master weights) and the optimiser stay float32; float64 tensors are
// never rounded.
enum class MathMode { FP32, BF16 };
const char* math_mode_name(MathMode m);

// Memory accounting of a backend's allocator (both cache freed blocks; "device" allocations are
// cudaMalloc on CUDA and aligned_alloc on the CPU).
struct MemoryStats {
  int64_t bytes_in_use = 0;        // held by live tensors
  int64_t peak_bytes_in_use = 0;   // the most held at once since the last reset_peak_memory()
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
  // The stream this backend's kernels run on (cudaStream_t on CUDA), for a communication library that
  // must queue its collectives in order with them (NCCL); null on the CPU.
  virtual void* native_stream() const { return nullptr; }
  virtual MemoryStats memory_stats() const { return {}; }
  virtual void reset_peak_memory() {}  // peak_bytes_in_use := bytes_in_use
  // Hands the allocator's cached blocks back to the device or the system (torch.cuda.empty_cache).
  virtual void empty_cache() {}

  // ---- arithmetic mode ------------------------------------------------------------------------
  // The default refuses BF16; the CPU and CUDA backends have both modes.
  virtual void set_math_mode(MathMode mode);
  virtual MathMode math_mode() const { return MathMode::FP32; }

  // ---- kernels --------------------------------------------------------------------------------
  // Every kernel, with its contract, is listed once in core/kernels.def.
#define HC_KERNEL(name, params) virtual void name params { unsupported(#name); }
#define HC_KERNEL_NAMED(name, params, label) virtual void name params { unsupported(label); }
#include "core/kernels.def"
#undef HC_KERNEL

 protected:
  [[noreturn]] void unsupported(const char* op) const;
};

// Each backend defines its own instance beside its kernels (ops/cpu/backend_cpu.cpp,
// ops/cuda/backend_cuda.cu); core/ only names them. cuda_backend_or_null exists in CUDA builds and
// gives nullptr, with the reason, on a machine without a usable GPU.
Backend& cpu_backend_instance();
#ifdef HC_CUDA
Backend* cuda_backend_or_null(std::string* why_not);
#endif

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
