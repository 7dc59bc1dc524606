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

// One tensor's entry in the header, checked: a known dtype, a shape whose size fits in int64, and
// a byte range inside the data section that holds exactly that many elements.
struct SafeTensorsEntry {
  std::string name, dtype;  // dtype as the file spells it ("F32", "BF16", ...)
  Shape shape;
  int64_t numel = 0;
  uint64_t begin = 0, end = 0;  // byte offsets within the data section
};

// The header alone: metadata and entries, in file order, without reading any tensor data.
struct SafeTensorsHeader {
  std::string path;
  std::map<std::string, std::string> metadata;
  std::vector<SafeTensorsEntry> entries;
  uint64_t data_start = 0;  // 8 + header length
  int64_t total_elements() const;  // of all tensors: what the file can fill
};

struct SafeTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order, CPU tensors
  std::map<std::string, std::string> metadata;          // the header's "__metadata__"

  bool has(const std::string& name) const;
  const Tensor& get(const std::string& name) const;  // throws naming the file and tensor
  int64_t total_elements() const;                    // of all tensors: what the file can fill
  std::string path;                                  // where it was read from, for messages
};

// Reads F32, F64 and I32 tensors (F16 and BF16 are widened to F32). Any inconsistency (short
// file, bad JSON, a number out of range, offsets outside the data, tensors that overlap or leave
// holes, a size that does not match the shape) is an error naming the file and the problem, found
// before any tensor is allocated. The header is at most 100 MB, as in Python's safetensors.
SafeTensors read_safetensors(const std::string& path);
SafeTensorsHeader read_safetensors_header(const std::string& path);

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
