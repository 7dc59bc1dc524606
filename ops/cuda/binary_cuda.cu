// Broadcasting add, sub, mul, div and expand on the GPU.
#include "ops/cuda/common_cuda.cuh"
#include "ops/scalar_math.h"

namespace hc {

// out [n] = a [n] op b [n] (same shapes; out may alias either)
__global__ void binary_same_kernel(BinaryOp op, const float* a, const float* b, float* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = binary_apply(op, a[i], b[i]);
}

// out [n] = a [n] op b[0]. b is read by every thread before any write, unless out aliases a only.
__global__ void binary_scalar_kernel(BinaryOp op, const float* a, const float* b, float* out, int64_t n) {
  float s = b[0];
  GRID_STRIDE(i, n) out[i] = binary_apply(op, a[i], s);
}

// General broadcasting: out [shape] = a [strided] op b [strided].
__global__ void binary_broadcast_kernel(BinaryOp op, const float* a, const float* b, float* out,
                                        int64_t n, Strided s) {
  GRID_STRIDE(i, n) {
    int64_t oa, ob;
    offsets_of(s, i, oa, ob);
    out[i] = binary_apply(op, a[oa], b[ob]);
  }
}

// out [shape] = x [strided]
__global__ void expand_kernel(const float* x, float* out, int64_t n, Strided s) {
  GRID_STRIDE(i, n) {
    int64_t ox, unused;
    offsets_of(s, i, ox, unused);
    out[i] = x[ox];
  }
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const char* name = binary_op_name(op);
  const float* pa = cf32(name, a);
  const float* pb = cf32(name, b);
  float* po = f32(name, out);
  int64_t n = out.numel();
  if (n == 0) return;
  const Shape& os = out.shape();
  if (a.shape() == os && b.shape() == os) {
    binary_same_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(op, pa, pb, po, n);
  } else if (a.shape() == os && b.numel() == 1 && static_cast<const void*>(pb) != po) {
    binary_scalar_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(op, pa, pb, po, n);
  } else {
    Strided s = broadcast_layout(name, os, a.shape(), &b.shape());
    binary_broadcast_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(op, pa, pb, po, n, s);
  }
  cudaLaunchCheck();
}

void CudaBackend::expand(const Tensor& x, Tensor& out) {
  const float* px = cf32("expand", x);
  float* po = f32("expand", out);
  int64_t n = out.numel();
  if (n == 0) return;
  const Shape& os = out.shape();
  if (x.numel() == n) {
    copy_on_device(po, px, static_cast<size_t>(n) * 4);
    return;
  }
  Strided s = broadcast_layout("expand", os, x.shape());
  expand_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(px, po, n, s);
  cudaLaunchCheck();
}

}  // namespace hc
