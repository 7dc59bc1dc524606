// A counting pass for model FLOPs (bench's model_gflops_per_image and MFU).
//
// While a FlopCount is alive on the calling thread's stack, the matrix-product ops (matmul and
// therefore linear, conv2d, attention) add 2·M·N·K for each product they compute in the forward
// direction. Elementwise work, norms, softmax and the optimiser are not counted (the convention
// of MFU figures: only the multiply-adds of matrix products). Backward products are counted by the
// caller as 2× the forward ones (one product for the input gradient, one for the weight gradient).
#pragma once
#include <cstdint>

namespace hc {

class FlopCount {
 public:
  FlopCount();
  ~FlopCount();
  FlopCount(const FlopCount&) = delete;
  FlopCount& operator=(const FlopCount&) = delete;
  double total() const { return total_; }

 private:
  friend void count_flops(double);
  double total_ = 0;
  FlopCount* outer_;
};

// Called by the ops; a no-op unless a FlopCount is active.
void count_flops(double flops);

}  // namespace hc
