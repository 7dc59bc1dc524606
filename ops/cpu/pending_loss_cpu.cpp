// Placeholders until these CPU kernels land: each refuses loudly. Delete this file when they do.
#include "core/backend_cpu.h"

namespace hc {

void CpuBackend::l2_normalize(const Tensor& x, double eps, Tensor& y, Tensor& norms) { unsupported("l2_normalize"); }
void CpuBackend::l2_normalize_backward(const Tensor& y, const Tensor& norms, const Tensor& dy, double eps, Tensor& dx) { unsupported("l2_normalize_backward"); }
void CpuBackend::siglip_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b, Tensor& loss) { unsupported("siglip_loss"); }
void CpuBackend::siglip_loss_backward(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b, const Tensor& dloss, Tensor* dv, Tensor* de, Tensor* dt_prime, Tensor* db) { unsupported("siglip_loss_backward"); }
void CpuBackend::soft_cross_entropy(const Tensor& logits, const Tensor& target, Tensor& loss) { unsupported("soft_cross_entropy"); }
void CpuBackend::soft_cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor* dlogits, Tensor* dtarget) { unsupported("soft_cross_entropy_backward"); }

}  // namespace hc
