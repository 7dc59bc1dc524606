// Placeholders until these CPU kernels land: each refuses loudly. Delete this file when they do.
#include "core/backend_cpu.h"

namespace hc {

void CpuBackend::softmax(const Tensor& x, Tensor& y) { unsupported("softmax"); }
void CpuBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx) { unsupported("softmax_backward"); }
void CpuBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale, Tensor& out, Tensor& aux) { unsupported("attention"); }
void CpuBackend::attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& aux, const Tensor& dout, bool causal, double scale, Tensor* dq, Tensor* dk, Tensor* dv) { unsupported("attention_backward"); }
void CpuBackend::embedding(const Tensor& weight, const Tensor& ids, Tensor& out) { unsupported("embedding"); }
void CpuBackend::embedding_backward(const Tensor& ids, const Tensor& dy, Tensor& dweight) { unsupported("embedding_backward"); }
void CpuBackend::gather_rows(const Tensor& x, const Tensor& index, Tensor& out) { unsupported("gather_rows"); }
void CpuBackend::gather_rows_backward(const Tensor& index, const Tensor& dy, Tensor& dx) { unsupported("gather_rows_backward"); }
void CpuBackend::set_mean(const Tensor& x, const Tensor& set_index, Tensor& out) { unsupported("set_mean"); }
void CpuBackend::set_mean_backward(const Tensor& set_index, const Tensor& dy, Tensor& dx) { unsupported("set_mean_backward"); }

}  // namespace hc
