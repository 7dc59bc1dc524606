// Op-level wall-time profile (`hyperclip bench --profile`): while an OpProfile is active, record()
// charges the time since the previous mark to "<op> fwd" (the op's kernel and allocation ran just
// before it records; ops that do not record are charged to the next one that does), and the
// tape's backward sweep charges each node's backward function and gradient accumulation to
// "<op> bwd". Whatever runs outside the tape (the optimiser) is timed by the caller with mark().
#pragma once
#include <chrono>
#include <map>
#include <string>

namespace hc {

class OpProfile {
 public:
  OpProfile();
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;
  // Charges the time since the last mark (or construction) to `name`.
  void mark(const std::string& name);
  // Restarts the clock without charging anything.
  void restart() { last_ = std::chrono::steady_clock::now(); }
  const std::map<std::string, double>& seconds() const { return seconds_; }

 private:
  std::map<std::string, double> seconds_;
  std::chrono::steady_clock::time_point last_;
  OpProfile* outer_;
};

// The active profile, or nullptr (the common case: one pointer test per op).
OpProfile* active_profile();

}  // namespace hc
