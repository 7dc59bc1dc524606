// conv2d on the GPU.
//
// Depthwise convolutions (groups == Cin == Cout, w [C, 1, KH, KW]) use the hand-written kernels
// below: one small filter per channel is memory-bound, and cuDNN's grouped backward-filter path is
// slow for it. Every other convolution goes through cuDNN's convolution API (grouped convolutions
// included), with the algorithm picked once per geometry by cuDNN's heuristics and cached:
//  - FP32 mode: float32 data and CUDNN_FMA_MATH, so cuDNN cannot silently use TF32 tensor cores;
//  - BF16 mode: x, w (and dy) rounded to bfloat16 scratch copies, float32 compute type, tensor-core
//    math allowed; the bf16 result is widened back into the float32 output.
// Bias forward and backward are small kernels of our own. Workspaces come from the caching
// allocator, so a steady training step calls cudaMalloc for none of this.
#include <map>
#include <tuple>

#include "ops/cuda/bf16_cuda.h"
#include "ops/cuda/common_cuda.cuh"

namespace hc {

namespace {

using Geometry = ConvGeometry;  // ops/kernel_shapes.h
constexpr auto geometry = conv_geometry;

// ---- bias ------------------------------------------------------------------------------------

// y [N, C, L] += bias [C]
__global__ void conv_bias_add_kernel(float* y, const float* bias, int64_t n, int64_t C, int64_t L) {
  GRID_STRIDE(i, n) y[i] += bias[(i / L) % C];
}

// db [C] = sum over n, l of dy [N, C, L]; one block per channel.
__global__ void conv_bias_grad_kernel(const float* dy, float* db, int64_t N, int64_t C, int64_t L) {
  int64_t c = blockIdx.x;
  float acc = 0.f;
  for (int64_t j = threadIdx.x; j < N * L; j += blockDim.x) {
    int64_t n = j / L, l = j % L;
    acc += dy[(n * C + c) * L + l];
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) db[c] = acc;
}

// ---- depthwise -------------------------------------------------------------------------------

// y [N, C, OH, OW] = depthwise conv of x [N, C, H, W] with w [C, KH, KW] (+ bias [C] or null)
__global__ void depthwise_forward_kernel(const float* x, const float* w, const float* bias, float* y,
                                         Geometry g) {
  int64_t total = g.N * g.Cin * g.OH * g.OW;
  GRID_STRIDE(i, total) {
    int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, nc = i / (g.OW * g.OH), c = nc % g.Cin;
    const float* xp = x + nc * g.H * g.W;
    const float* wp = w + c * g.KH * g.KW;
    y[i] = depthwise_output(xp, wp, g, oh, ow, bias ? bias[c] : 0.f);
  }
}

// dx [N, C, H, W]: each input pixel gathers the outputs whose window covers it
// (oh * sh - ph + kh == ih), so no atomics are needed.
__global__ void depthwise_dx_kernel(const float* dy, const float* w, float* dx, Geometry g) {
  int64_t total = g.N * g.Cin * g.H * g.W;
  GRID_STRIDE(i, total) {
    int64_t iw = i % g.W, ih = (i / g.W) % g.H, nc = i / (g.W * g.H), c = nc % g.Cin;
    const float* gp = dy + nc * g.OH * g.OW;
    const float* wp = w + c * g.KH * g.KW;
    float acc = 0.f;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      int64_t t = ih + g.ph - kh;  // = oh * sh
      if (t < 0 || t % g.sh) continue;
      int64_t oh = t / g.sh;
      if (oh >= g.OH) continue;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        int64_t u = iw + g.pw - kw;  // = ow * sw
        if (u < 0 || u % g.sw) continue;
        int64_t ow = u / g.sw;
        if (ow < g.OW) acc += gp[oh * g.OW + ow] * wp[kh * g.KW + kw];
      }
    }
    dx[i] = acc;
  }
}

// dw [C, KH, KW]: one block per (channel, tap), summing dy * x over images and output pixels.
__global__ void depthwise_dw_kernel(const float* x, const float* dy, float* dw, Geometry g) {
  int64_t c = blockIdx.x / (g.KH * g.KW), tap = blockIdx.x % (g.KH * g.KW);
  int64_t kh = tap / g.KW, kw = tap % g.KW;
  int64_t per = g.OH * g.OW;
  float acc = 0.f;
  for (int64_t j = threadIdx.x; j < g.N * per; j += blockDim.x) {
    int64_t n = j / per, oh = (j % per) / g.OW, ow = j % g.OW;
    int64_t ih = oh * g.sh - g.ph + kh, iw = ow * g.sw - g.pw + kw;
    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
    int64_t plane = n * g.Cin + c;
    acc += dy[plane * per + oh * g.OW + ow] * x[(plane * g.H + ih) * g.W + iw];
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) dw[blockIdx.x] = acc;
}

// ---- cuDNN plans -----------------------------------------------------------------------------

struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  bool have_fwd = false, have_bwd_data = false, have_bwd_filter = false;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  cudnnMathType_t fwd_math{}, bwd_data_math{}, bwd_filter_math{};
  size_t fwd_ws = 0, bwd_data_ws = 0, bwd_filter_ws = 0;
};

using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int, int, int,
                           int64_t, int>;

int to_int(int64_t v) {
  HC_CHECK(v >= 0 && v <= (int64_t(1) << 31) - 1, "conv2d: dimension ", v, " is too large for cuDNN");
  return static_cast<int>(v);
}

// The math type a mode's heuristic searches start from. Each search (forward, backward-data,
// backward-filter) resets it, since the previous pick left its own choice on the descriptor and a
// search run under FMA would never list the bf16 tensor-op algorithms.
cudnnMathType_t base_math(bool bf16) { return bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH; }

ConvPlan& plan_for(CudaBackend& be, const Geometry& g) {
  static std::map<PlanKey, ConvPlan>* plans = new std::map<PlanKey, ConvPlan>();  // lives forever
  bool bf16 = be.math_mode() == MathMode::BF16;
  PlanKey key{g.N, g.Cin, g.H, g.W, g.Cout, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.G, bf16 ? 1 : 0};
  auto it = plans->find(key);
  if (it != plans->end()) return it->second;
  ConvPlan p;
  cudnnDataType_t dt = bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  cudnnCheck(cudnnCreateTensorDescriptor(&p.x));
  cudnnCheck(cudnnCreateTensorDescriptor(&p.y));
  cudnnCheck(cudnnCreateFilterDescriptor(&p.w));
  cudnnCheck(cudnnCreateConvolutionDescriptor(&p.conv));
  cudnnCheck(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NCHW, dt, to_int(g.N), to_int(g.Cin), to_int(g.H), to_int(g.W)));
  cudnnCheck(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NCHW, dt, to_int(g.N), to_int(g.Cout), to_int(g.OH), to_int(g.OW)));
  cudnnCheck(cudnnSetFilter4dDescriptor(p.w, dt, CUDNN_TENSOR_NCHW, to_int(g.Cout), to_int(g.Cin / g.G),
                                        to_int(g.KH), to_int(g.KW)));
  // Cross-correlation (what PyTorch and the CPU backend compute), float32 accumulation.
  cudnnCheck(cudnnSetConvolution2dDescriptor(p.conv, g.ph, g.pw, g.sh, g.sw, 1, 1, CUDNN_CROSS_CORRELATION,
                                             CUDNN_DATA_FLOAT));
  cudnnCheck(cudnnSetConvolutionGroupCount(p.conv, to_int(g.G)));
  cudnnCheck(cudnnSetConvolutionMathType(p.conv, base_math(bf16)));
  return plans->emplace(key, p).first->second;
}

// First heuristic choice that succeeds and, in FP32 mode, uses plain FMA math (never TF32). If
// no FMA choice is listed, the first successful algorithm is forced to FMA math: should cuDNN not
// support that, the convolution call fails loudly rather than running in TF32.
template <class Perf>
bool pick(const Perf* perf, int count, bool bf16, Perf& chosen) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (!bf16 && perf[i].mathType != CUDNN_FMA_MATH) continue;
    chosen = perf[i];
    return true;
  }
  for (int i = 0; i < count && !bf16; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    chosen = perf[i];
    chosen.mathType = CUDNN_FMA_MATH;
    return true;
  }
  return false;
}

void ensure_fwd(CudaBackend& be, ConvPlan& p) {
  if (p.have_fwd) return;
  bool bf16 = be.math_mode() == MathMode::BF16;
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT], chosen;
  int n = 0;
  cudnnCheck(cudnnSetConvolutionMathType(p.conv, base_math(bf16)));
  cudnnCheck(cudnnGetConvolutionForwardAlgorithm_v7(be.cudnn(), p.x, p.w, p.conv, p.y,
                                                    CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
  HC_CHECK(pick(perf, n, bf16, chosen), "conv2d: cuDNN offers no ", bf16 ? "bf16" : "float32 (FMA)",
           " forward algorithm for this geometry");
  p.fwd = chosen.algo;
  p.fwd_math = chosen.mathType;
  cudnnCheck(cudnnSetConvolutionMathType(p.conv, p.fwd_math));
  cudnnCheck(cudnnGetConvolutionForwardWorkspaceSize(be.cudnn(), p.x, p.w, p.conv, p.y, p.fwd, &p.fwd_ws));
  p.have_fwd = true;
}

void ensure_bwd_data(CudaBackend& be, ConvPlan& p) {
  if (p.have_bwd_data) return;
  bool bf16 = be.math_mode() == MathMode::BF16;
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT], chosen;
  int n = 0;
  cudnnCheck(cudnnSetConvolutionMathType(p.conv, base_math(bf16)));
  cudnnCheck(cudnnGetConvolutionBackwardDataAlgorithm_v7(be.cudnn(), p.w, p.y, p.conv, p.x,
                                                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
  HC_CHECK(pick(perf, n, bf16, chosen), "conv2d_backward: cuDNN offers no ", bf16 ? "bf16" : "float32 (FMA)",
           " backward-data algorithm for this geometry");
  p.bwd_data = chosen.algo;
  p.bwd_data_math = chosen.mathType;
  cudnnCheck(cudnnSetConvolutionMathType(p.conv, p.bwd_data_math));
  cudnnCheck(cudnnGetConvolutionBackwardDataWorkspaceSize(be.cudnn(), p.w, p.y, p.conv, p.x, p.bwd_data,
                                                          &p.bwd_data_ws));
  p.have_bwd_data = true;
}

void ensure_bwd_filter(CudaBackend& be, ConvPlan& p) {
  if (p.have_bwd_filter) return;
  bool bf16 = be.math_mode() == MathMode::BF16;
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT], chosen;
  int n = 0;
  cudnnCheck(cudnnSetConvolutionMathType(p.conv, base_math(bf16)));
  cudnnCheck(cudnnGetConvolutionBackwardFilterAlgorithm_v7(be.cudnn(), p.x, p.y, p.conv, p.w,
                                                           CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
  HC_CHECK(pick(perf, n, bf16, chosen), "conv2d_backward: cuDNN offers no ", bf16 ? "bf16" : "float32 (FMA)",
           " backward-filter algorithm for this geometry");
  p.bwd_filter = chosen.algo;
  p.bwd_filter_math = chosen.mathType;
  cudnnCheck(cudnnSetConvolutionMathType(p.conv, p.bwd_filter_math));
  cudnnCheck(cudnnGetConvolutionBackwardFilterWorkspaceSize(be.cudnn(), p.x, p.y, p.conv, p.w, p.bwd_filter,
                                                            &p.bwd_filter_ws));
  p.have_bwd_filter = true;
}

// A workspace of at least `bytes` from the caching allocator (empty tensor for 0).
Tensor workspace(CudaBackend& be, size_t bytes) {
  return be.scratch({static_cast<int64_t>((bytes + 3) / 4)}, DType::F32);
}

}  // namespace

// y = x ⋆ w through cuDNN (no bias), the plan's forward algorithm; BF16 mode rounds x and w to
// bf16 copies and widens cuDNN's bf16 y.
static void cudnn_forward(CudaBackend& be, const Geometry& g, const float* px, int64_t nx, const float* pw,
                          int64_t nw, float* py, int64_t ny) {
  ConvPlan& plan = plan_for(be, g);
  ensure_fwd(be, plan);
  cudnnCheck(cudnnSetConvolutionMathType(plan.conv, plan.fwd_math));
  Tensor ws = workspace(be, plan.fwd_ws);
  const float one = 1.f, zero = 0.f;
  if (be.math_mode() == MathMode::FP32) {
    cudnnCheck(cudnnConvolutionForward(be.cudnn(), &one, plan.x, px, plan.w, pw, plan.conv, plan.fwd, ws.raw_data(),
                                       plan.fwd_ws, &zero, plan.y, py));
    return;
  }
  Bf16Buffer xb = bf16_copy(be, px, nx), wb = bf16_copy(be, pw, nw);
  Bf16Buffer yb = bf16_buffer(be, ny);
  cudnnCheck(cudnnConvolutionForward(be.cudnn(), &one, plan.x, xb.ptr, plan.w, wb.ptr, plan.conv, plan.fwd,
                                     ws.raw_data(), plan.fwd_ws, &zero, plan.y, yb.ptr));
  from_bf16(yb.ptr, py, ny, be.stream());
}

void CudaBackend::conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                         Tensor& y) {
  Geometry g = geometry(x, w, y, p);
  const float* px = cf32("conv2d", x);
  const float* pw = cf32("conv2d", w);
  const float* pb = bias.defined() ? cf32("conv2d", bias) : nullptr;
  float* py = f32("conv2d", y);
  int64_t ny = y.numel();
  if (ny == 0) return;
  if (g.depthwise()) {  // bias included
    depthwise_forward_kernel<<<blocks_for(ny), kThreads, 0, stream()>>>(px, pw, pb, py, g);
    cudaLaunchCheck();
    return;
  }
  if (w.numel() == 0) fill(y, 0.0);  // no input channels or an empty kernel: an empty sum, cuDNN refuses it
  else cudnn_forward(*this, g, px, x.numel(), pw, w.numel(), py, ny);
  if (pb) {
    conv_bias_add_kernel<<<blocks_for(ny), kThreads, 0, stream()>>>(py, pb, ny, g.Cout, g.OH * g.OW);
    cudaLaunchCheck();
  }
}

void CudaBackend::conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                  const Conv2dParams& p, Tensor* dx, Tensor* dw, Tensor* dbias) {
  Geometry g = geometry(x, w, dy, p);
  const float* px = cf32("conv2d_backward", x);
  const float* pw = cf32("conv2d_backward", w);
  const float* pdy = cf32("conv2d_backward", dy);
  float* pdx = dx ? f32("conv2d_backward", *dx) : nullptr;
  float* pdw = dw ? f32("conv2d_backward", *dw) : nullptr;
  float* pdb = dbias ? f32("conv2d_backward", *dbias) : nullptr;
  if (pdb && dy.numel() == 0) fill(*dbias, 0.0);  // empty batch or output: a zero-block launch is invalid
  else if (pdb) {
    conv_bias_grad_kernel<<<static_cast<unsigned>(g.Cout), 256, 0, stream()>>>(pdy, pdb, g.N, g.Cout, g.OH * g.OW);
    cudaLaunchCheck();
  }
  // Empty batch or output (N, Cout or OH*OW zero) or no input channels: dx and dw are empty sums,
  // and cuDNN refuses such descriptors, so write them here (overwriting, as the CPU backend does).
  if (dy.numel() == 0 || w.numel() == 0) {
    if (pdx) fill(*dx, 0.0);
    if (pdw) fill(*dw, 0.0);
    return;
  }
  if (g.depthwise()) {
    if (pdx && dx->numel()) {
      depthwise_dx_kernel<<<blocks_for(dx->numel()), kThreads, 0, stream()>>>(pdy, pw, pdx, g);
      cudaLaunchCheck();
    }
    if (pdw && dw->numel()) {
      depthwise_dw_kernel<<<static_cast<unsigned>(g.Cin * g.KH * g.KW), 256, 0, stream()>>>(px, pdy, pdw, g);
      cudaLaunchCheck();
    }
    return;
  }
  if (!pdx && !pdw) return;
  ConvPlan& plan = plan_for(*this, g);
  const float one = 1.f, zero = 0.f;
  bool bf16 = mode_ == MathMode::BF16;
  Bf16Buffer dyb, xb, wb;
  if (bf16) dyb = bf16_copy(*this, pdy, dy.numel());
  if (pdx) {
    ensure_bwd_data(*this, plan);
    cudnnCheck(cudnnSetConvolutionMathType(plan.conv, plan.bwd_data_math));
    Tensor ws = workspace(*this, plan.bwd_data_ws);
    if (!bf16) {
      cudnnCheck(cudnnConvolutionBackwardData(cudnn_, &one, plan.w, pw, plan.y, pdy, plan.conv, plan.bwd_data,
                                              ws.raw_data(), plan.bwd_data_ws, &zero, plan.x, pdx));
    } else {
      wb = bf16_copy(*this, pw, w.numel());
      Bf16Buffer dxb = bf16_buffer(*this, dx->numel());
      cudnnCheck(cudnnConvolutionBackwardData(cudnn_, &one, plan.w, wb.ptr, plan.y, dyb.ptr, plan.conv,
                                              plan.bwd_data, ws.raw_data(), plan.bwd_data_ws, &zero, plan.x,
                                              dxb.ptr));
      from_bf16(dxb.ptr, pdx, dx->numel(), stream_);
    }
  }
  if (pdw) {
    ensure_bwd_filter(*this, plan);
    cudnnCheck(cudnnSetConvolutionMathType(plan.conv, plan.bwd_filter_math));
    Tensor ws = workspace(*this, plan.bwd_filter_ws);
    if (!bf16) {
      cudnnCheck(cudnnConvolutionBackwardFilter(cudnn_, &one, plan.x, px, plan.y, pdy, plan.conv,
                                                plan.bwd_filter, ws.raw_data(), plan.bwd_filter_ws, &zero,
                                                plan.w, pdw));
    } else {
      xb = bf16_copy(*this, px, x.numel());
      Bf16Buffer dwb = bf16_buffer(*this, dw->numel());
      cudnnCheck(cudnnConvolutionBackwardFilter(cudnn_, &one, plan.x, xb.ptr, plan.y, dyb.ptr, plan.conv,
                                                plan.bwd_filter, ws.raw_data(), plan.bwd_filter_ws, &zero,
                                                plan.w, dwb.ptr));
      from_bf16(dwb.ptr, pdw, dw->numel(), stream_);
    }
  }
}

}  // namespace hc
