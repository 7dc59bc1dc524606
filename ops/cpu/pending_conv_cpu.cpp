// Placeholders until these CPU kernels land: each refuses loudly. Delete this file when they do.
#include "core/backend_cpu.h"

namespace hc {

void CpuBackend::conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& y) { unsupported("conv2d"); }
void CpuBackend::conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Conv2dParams& p, Tensor* dx, Tensor* dw, Tensor* dbias) { unsupported("conv2d_backward"); }
void CpuBackend::global_avg_pool(const Tensor& x, Tensor& y) { unsupported("global_avg_pool"); }
void CpuBackend::global_avg_pool_backward(const Tensor& dy, Tensor& dx) { unsupported("global_avg_pool_backward"); }

}  // namespace hc
