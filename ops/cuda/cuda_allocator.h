// A caching allocator for device memory, in the spirit of PyTorch's: a freed block goes onto a
// free list for its size class instead of back to cudaFree, and the next request of that class
// takes it. A training step asks for the same sizes every step, so after the first step no
// cudaMalloc happens at all (tests/test_cuda_training.cpp checks this through stats()).
//
// All kernels run on one stream, so a block freed by the host while a kernel that used it is still
// queued can be handed out again at once: the next user's kernels queue behind on the same stream.
#pragma once
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/backend.h"

namespace hc {

class CudaAllocator {
 public:
  void* allocate(size_t bytes);
  void deallocate(void* ptr, size_t bytes);
  // cudaFree every cached block (also done once before giving up on an out-of-memory error).
  void release_cached();
  MemoryStats stats() const;
  void reset_peak();  // peak_bytes_in_use := bytes_in_use

  // Size classes: multiples of 512 bytes below 1 MiB, of 2 MiB above.
  static size_t size_class(size_t bytes);

 private:
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // size class -> cached blocks
  MemoryStats stats_;
};

}  // namespace hc
