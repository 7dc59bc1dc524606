#include "core/error.h"
#include "ops/ops.h"

namespace hc {

void check_same_float(const char* op, const std::vector<Tensor>& ts) {
  const Tensor* first = nullptr;
  for (const Tensor& t : ts) {
    if (!t.defined()) continue;
    HC_CHECK(is_floating(t.dtype()), op, ": expected a floating tensor, got ", t.desc());
    if (!first) {
      first = &t;
      continue;
    }
    HC_CHECK(t.device() == first->device(), op, ": tensors on different devices: ", first->desc(),
             " and ", t.desc());
    HC_CHECK(t.dtype() == first->dtype(), op, ": mixed element types: ", first->desc(), " and ",
             t.desc());
  }
}

void check_rank(const char* op, const char* what, const Tensor& t, int64_t rank) {
  HC_CHECK(t.defined(), op, ": ", what, " is undefined");
  HC_CHECK(t.dim() == rank, op, ": ", what, " must have rank ", rank, ", got ", t.desc());
}

void check_index(const char* op, const char* what, const Tensor& t, Device device) {
  HC_CHECK(t.defined(), op, ": ", what, " is undefined");
  HC_CHECK(t.dtype() == DType::I32, op, ": ", what, " must be int32, got ", t.desc());
  HC_CHECK(t.device() == device, op, ": ", what, " is on ", device_name(t.device()),
           ", expected ", device_name(device));
}

Tensor empty_like_shape(const Tensor& like, const Shape& shape) {
  return Tensor::empty_on(like.backend(), shape, like.dtype());
}

Tensor zeros_like_shape(const Tensor& like, const Shape& shape) {
  Tensor t = empty_like_shape(like, shape);
  t.fill_(0);
  return t;
}

}  // namespace hc
