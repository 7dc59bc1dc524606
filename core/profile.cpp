#include "core/profile.h"

namespace hc {

static OpProfile* g_active = nullptr;

OpProfile::OpProfile() : last_(std::chrono::steady_clock::now()), outer_(g_active) { g_active = this; }
OpProfile::~OpProfile() { g_active = outer_; }

void OpProfile::mark(const std::string& name) {
  auto now = std::chrono::steady_clock::now();
  seconds_[name] += std::chrono::duration<double>(now - last_).count();
  last_ = now;
}

OpProfile* active_profile() { return g_active; }

}  // namespace hc
