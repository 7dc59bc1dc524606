// Gradient mode: when disabled (inference, optimiser updates, finite differences) no op is
// recorded on the tape. Per thread, like PyTorch's torch.no_grad().
#pragma once

namespace hc {

bool grad_enabled();
void set_grad_enabled(bool on);

class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace hc
