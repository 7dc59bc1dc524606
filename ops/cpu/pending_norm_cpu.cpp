// Placeholders until these CPU kernels land: each refuses loudly. Delete this file when they do.
#include "core/backend_cpu.h"

namespace hc {

void CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& set_index, const BatchNormParams& p, Tensor& running_mean, Tensor& running_var, Tensor& y, Tensor& save_mean, Tensor& save_invstd) { unsupported("batch_norm_forward"); }
void CpuBackend::batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dy, bool training, Tensor* dx, Tensor* dgamma, Tensor* dbeta) { unsupported("batch_norm_backward"); }
void CpuBackend::layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& set_index, double eps, Tensor& y, Tensor& save_mean, Tensor& save_invstd) { unsupported("layer_norm_forward"); }
void CpuBackend::layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& set_index, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& dy, Tensor* dx, Tensor* dgamma, Tensor* dbeta) { unsupported("layer_norm_backward"); }

}  // namespace hc
