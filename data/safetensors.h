// The safetensors format (readable by Python's safetensors and PyTorch): an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the data.
// Used for checkpoints, exported classifiers and the PyTorch reference dumps.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace hc {

struct SafeTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order, CPU tensors
  std::map<std::string, std::string> metadata;          // the header's "__metadata__"

  bool has(const std::string& name) const;
  const Tensor& get(const std::string& name) const;  // throws naming the file and tensor
  std::string path;                                  // where it was read from, for messages
};

// Reads F32, F64 and I32 tensors (F16 and BF16 are widened to F32). Any inconsistency (short
// file, bad JSON, offsets outside the data, a size that does not match the shape) is an error
// naming the file and the problem.
SafeTensors read_safetensors(const std::string& path);

// Writes atomically: a temporary file beside `path`, fsync, rename. A crash or a full disk never
// leaves a half-written file under `path`.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// As write_safetensors, with every floating tensor stored as F16 (each value rounded by
// float_to_half; read_safetensors widens them back to F32): half the bytes of F32, for values that
// need no more, such as the teachers' embeddings of a reinforced dataset.
void write_safetensors_f16(const std::string& path,
                           const std::vector<std::pair<std::string, Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata = {});

// IEEE 754 half precision: the F16 value nearest a float (ties to even; beyond the largest finite
// half, 65504, infinity; NaN stays NaN), and the float an F16 value stands for (exact).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace hc
