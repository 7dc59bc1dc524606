// Storage: one contiguous allocation owned by a backend (64-byte aligned host memory on the CPU,
// device memory on CUDA). Tensors share a Storage through shared_ptr; reshape views point into it.
#pragma once
#include <cstddef>
#include <memory>

#include "core/dtype.h"

namespace hc {

class Backend;

class Storage {
 public:
  Storage(Backend& backend, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Backend& backend() const { return *backend_; }
  Device device() const;

 private:
  Backend* backend_;
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace hc
