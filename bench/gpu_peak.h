// Dense (no sparsity) peak TFLOP/s of the GPUs the benchmarks know, for MFU = achieved model
// FLOP/s over the peak of the precision the run uses. Figures from NVIDIA's H100 and H200 data
// sheets. bench/torch_gpu_bench.py reads this table too (one source of truth), so keep one entry
// per line in this form.
//
// Lookup: by substring of the CUDA device name (cudaGetDeviceProperties().name, e.g.
// "NVIDIA H100 80GB HBM3"), first match wins, so the more specific names come first. A GPU that
// is not listed has no known peak: pass --peak-tflops X (that value is then used for every
// precision, and the JSON says "peak_source": "override").
#pragma once
#include <string>

namespace hc::bench {

struct GpuPeak {
  const char* match;  // substring of the device name
  const char* label;
  double fp32;        // plain float32 FMA (what the engine's FP32 mode uses: no TF32)
  double tf32;        // TF32 tensor cores
  double bf16;        // bf16 tensor cores, fp32 accumulation
};

// clang-format off
inline constexpr GpuPeak kGpuPeaks[] = {
  {"H200 NVL",  "H200 NVL",       60.0, 417.5,  835.5},
  {"H200",      "H200 SXM",       67.0, 494.7,  989.4},
  {"H100 NVL",  "H100 NVL",       60.0, 417.5,  835.5},
  {"H100 PCIe", "H100 PCIe",      51.2, 378.0,  756.0},
  {"H100",      "H100 SXM",       67.0, 494.7,  989.4},
};
// clang-format on

inline const GpuPeak* find_gpu_peak(const std::string& device_name) {
  for (const GpuPeak& p : kGpuPeaks)
    if (device_name.find(p.match) != std::string::npos) return &p;
  return nullptr;
}

// The peak (TFLOP/s) for a run in `precision` ("fp32" or "bf16") on `device_name`: override_tflops
// when > 0, else the table's value; 0 when unknown. *source says which ("override", the table's
// label, or "unknown").
inline double gpu_peak_tflops(const std::string& device_name, const std::string& precision, double override_tflops,
                              std::string* source = nullptr) {
  if (override_tflops > 0) {
    if (source) *source = "override";
    return override_tflops;
  }
  const GpuPeak* p = find_gpu_peak(device_name);
  if (!p) {
    if (source) *source = "unknown";
    return 0;
  }
  if (source) *source = p->label;
  return precision == "bf16" ? p->bf16 : p->fp32;
}

}  // namespace hc::bench
