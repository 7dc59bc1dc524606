#include "core/tensor.h"

#include <cstring>

#include "core/backend.h"
#include "core/tape.h"

namespace hc {

const TensorImpl& Tensor::checked() const {
  HC_CHECK(impl_ != nullptr, "use of an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty_on(Backend& backend, const Shape& shape, DType dtype) {
  int64_t n = 0;
  HC_CHECK(checked_numel(shape, static_cast<int64_t>(dtype_size(dtype)), &n), "tensor of shape ", shape_str(shape),
           ": a negative dimension, or more elements than memory can address");
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(backend,
                                            static_cast<size_t>(n) * dtype_size(dtype));
  return Tensor(std::move(impl));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return empty_on(backend_for(device), shape, dtype);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}
Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}
Tensor Tensor::scalar(double value, DType dtype, Device device) {
  return full({}, value, dtype, device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype,
                           Device device) {
  HC_CHECK(static_cast<int64_t>(values.size()) == hc::numel(shape), "from_vector: ",
           values.size(), " values for shape ", shape_str(shape));
  Tensor host = empty(shape, dtype, Device::CPU);
  switch (dtype) {
    case DType::F32: {
      float* p = host.data<float>();
      for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<float>(values[i]);
      break;
    }
    case DType::F64: std::memcpy(host.raw_data(), values.data(), values.size() * 8); break;
    case DType::I32: {
      int32_t* p = host.data<int32_t>();
      for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<int32_t>(values[i]);
      break;
    }
  }
  return device == Device::CPU ? host : host.to(device);
}

Tensor Tensor::from_ints(const std::vector<int32_t>& values, const Shape& shape, Device device) {
  HC_CHECK(static_cast<int64_t>(values.size()) == hc::numel(shape), "from_ints: ", values.size(),
           " values for shape ", shape_str(shape));
  Tensor t = empty(shape, DType::I32, device);
  t.backend().copy_from_host(t.raw_data(), values.data(), values.size() * 4);
  return t;
}

const Shape& Tensor::shape() const { return checked().shape; }
int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim())]; }
int64_t Tensor::numel() const { return hc::numel(shape()); }
DType Tensor::dtype() const { return checked().dtype; }
Device Tensor::device() const { return checked().storage->device(); }
Backend& Tensor::backend() const { return checked().storage->backend(); }
std::string Tensor::desc() const {
  if (!defined()) return "undefined";
  return cat(dtype_name(dtype()), shape_str(shape()), " ", device_name(device()));
}

void* Tensor::raw_data() const {
  const TensorImpl& t = checked();
  return static_cast<char*>(t.storage->data()) + t.offset * dtype_size(t.dtype);
}

std::vector<double> Tensor::to_vector() const {
  Tensor host = device() == Device::CPU ? *this : to(Device::CPU);
  std::vector<double> out(numel());
  switch (dtype()) {
    case DType::F32: {
      const float* p = host.data<float>();
      for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
      break;
    }
    case DType::F64: std::memcpy(out.data(), host.raw_data(), out.size() * 8); break;
    case DType::I32: {
      const int32_t* p = host.data<int32_t>();
      for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
      break;
    }
  }
  return out;
}

std::vector<int32_t> Tensor::to_ints() const {
  HC_CHECK(dtype() == DType::I32, "to_ints on a ", dtype_name(dtype()), " tensor");
  std::vector<int32_t> out(numel());
  backend().copy_to_host(out.data(), raw_data(), out.size() * 4);
  return out;
}

double Tensor::item() const {
  HC_CHECK(numel() == 1, "item() on a tensor of shape ", shape_str(shape()));
  return to_vector()[0];
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor out = empty(shape(), dtype(), device);
  size_t bytes = static_cast<size_t>(numel()) * dtype_size(dtype());
  if (device == Device::CPU) {
    backend().copy_to_host(out.raw_data(), raw_data(), bytes);
  } else {
    out.backend().copy_from_host(out.raw_data(), raw_data(), bytes);
  }
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  Tensor out = empty_on(backend(), shape(), dtype);
  backend().cast(*this, out);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty_on(backend(), shape(), dtype());
  backend().copy_on_device(out.raw_data(), raw_data(),
                           static_cast<size_t>(numel()) * dtype_size(dtype()));
  return out;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

void Tensor::fill_(double value) const {
  Tensor self = *this;
  backend().fill(self, value);
}

void Tensor::copy_(const Tensor& src) const {
  HC_CHECK(src.shape() == shape(), "copy_: source ", src.desc(), " into ", desc());
  HC_CHECK(src.device() == device(), "copy_: source on ", device_name(src.device()), ", target on ",
           device_name(device()));
  Tensor self = *this;
  if (src.dtype() == dtype()) {
    backend().copy_on_device(raw_data(), src.raw_data(),
                             static_cast<size_t>(numel()) * dtype_size(dtype()));
  } else {
    backend().cast(src, self);
  }
}

bool Tensor::requires_grad() const { return checked().requires_grad; }

const Tensor& Tensor::set_requires_grad(bool on) const {
  HC_CHECK(checked().is_leaf, "set_requires_grad on a tensor produced by an op; use detach()");
  HC_CHECK(!on || is_floating(dtype()), "an ", dtype_name(dtype()), " tensor cannot require grad");
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return checked().is_leaf; }

Tensor Tensor::grad() const { return Tensor(checked().grad); }

void Tensor::set_grad(const Tensor& g) const {
  HC_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient ", g.desc(), " for ", desc());
  impl_->grad = g.impl_ptr();
}

void Tensor::zero_grad() const { impl_->grad.reset(); }

void Tensor::backward(const Tensor& grad_output) const { current_tape().backward(*this, grad_output); }

Tensor make_view(const Tensor& base, const Shape& shape) {
  HC_CHECK(hc::numel(shape) == base.numel(), "cannot view ", base.desc(), " as ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->offset = base.impl()->offset;
  impl->shape = shape;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

}  // namespace hc
