#include "core/storage.h"

#include "core/backend.h"

namespace hc {

Storage::Storage(Backend& backend, size_t bytes) : backend_(&backend), bytes_(bytes) {
  data_ = bytes ? backend.allocate(bytes) : nullptr;
}

Storage::~Storage() {
  if (data_) backend_->deallocate(data_, bytes_);
}

Device Storage::device() const { return backend_->device(); }

}  // namespace hc
