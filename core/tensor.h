// Tensor: a shape, an element type and a device over a contiguous row-major Storage.
//
// A Tensor is a cheap handle (shared_ptr to TensorImpl). reshape() is a view sharing the storage;
// every other op writes a new contiguous tensor. Autograd state lives on the impl: requires_grad,
// whether the tensor was produced by a recorded op (is_leaf == false), and the accumulated grad.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace hc {

class Backend;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- factories -------------------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  // Allocates on a given backend: ops allocate outputs on their inputs' backend this way.
  static Tensor empty_on(Backend& backend, const Shape& shape, DType dtype);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::CPU);
  static Tensor scalar(double value, DType dtype = DType::F32, Device device = Device::CPU);
  // Values are given row-major; the count must match the shape.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor from_ints(const std::vector<int32_t>& values, const Shape& shape,
                          Device device = Device::CPU);

  // --- metadata --------------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  Backend& backend() const;
  std::string desc() const;  // "float32[2, 3] cpu"

  // --- data access -----------------------------------------------------------------------------
  // Pointer to the first element (a device pointer for CUDA tensors). Checks the element type.
  template <class T> T* data() const;
  void* raw_data() const;
  // Host copies, any element type converted to double / int.
  std::vector<double> to_vector() const;
  std::vector<int32_t> to_ints() const;
  double item() const;  // the single element of a one-element tensor

  // --- conversions (never recorded on the tape) -------------------------------------------------
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor clone() const;   // a new contiguous copy, detached
  Tensor detach() const;  // shares storage, no autograd history, requires_grad false

  // --- in-place writes for optimisers, initialisation and buffers (not recorded) --------------
  void fill_(double value) const;
  void copy_(const Tensor& src) const;  // same shape and device; converts element type

  // --- autograd --------------------------------------------------------------------------------
  bool requires_grad() const;
  // Marks a leaf as a parameter whose gradient accumulates into grad().
  const Tensor& set_requires_grad(bool on) const;
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward pass reached this leaf
  void set_grad(const Tensor& g) const;
  void zero_grad() const;  // drops the gradient
  // Reverse sweep of the current tape from this tensor, then clears the tape.
  // grad_output defaults to 1 for a one-element tensor.
  void backward(const Tensor& grad_output = Tensor()) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  const TensorImpl& checked() const;
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  bool is_leaf = true;  // false once produced by a recorded op
  std::shared_ptr<TensorImpl> grad;
};

// Builds a tensor that views `base`'s storage with another shape (same element count).
Tensor make_view(const Tensor& base, const Shape& shape);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::I32; };

template <class T>
T* Tensor::data() const {
  const TensorImpl& t = checked();
  HC_CHECK(t.dtype == dtype_of<T>::value, "tensor holds ", dtype_name(t.dtype), ", accessed as ",
           dtype_name(dtype_of<T>::value));
  return static_cast<T*>(raw_data());
}

}  // namespace hc
