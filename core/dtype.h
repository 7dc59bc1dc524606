// Element types and devices.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hc {

// F64 exists for finite-difference gradient checks on the CPU; I32 holds indices (token ids,
// per-sample set indices, end-of-text positions) and never carries gradients.
enum class DType : uint8_t { F32, F64, I32 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType t) { return t == DType::F64 ? 8 : 4; }
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
  }
  return "?";
}
inline bool is_floating(DType t) { return t != DType::I32; }
inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

}  // namespace hc
