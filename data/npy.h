// NumPy .npy files (format version 1.0), for embeddings that people load with numpy.load().
#pragma once
#include <string>

#include "core/tensor.h"

namespace hc {

// Writes a float32 or int32 tensor as a C-order .npy array, atomically.
void write_npy(const std::string& path, const Tensor& t);
// Reads a little-endian float32 ('<f4') or int32 ('<i4') C-order .npy array.
Tensor read_npy(const std::string& path);

}  // namespace hc
