#include "core/flops.h"

namespace hc {

static thread_local FlopCount* active_count = nullptr;

FlopCount::FlopCount() : outer_(active_count) { active_count = this; }
FlopCount::~FlopCount() { active_count = outer_; }

void count_flops(double flops) {
  if (active_count) active_count->total_ += flops;
}

}  // namespace hc
