// A small command-line option parser shared by the subcommands: --name value pairs and flags,
// with errors that name the option.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace hc::cli {

class Args {
 public:
  // argv after the subcommand. Every option must be in `known` (value options) or `flags`.
  Args(int argc, char** argv, const std::vector<std::string>& known,
       const std::vector<std::string>& flags = {});
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  // get* read an option that takes one value: missing (without a fallback) or repeated is an error.
  std::string get(const std::string& name) const;  // throws if missing
  std::string get(const std::string& name, const std::string& fallback) const;
  int64_t get_int(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;
  // "yes" or "no" (an error names the option otherwise).
  bool get_yes_no(const std::string& name, bool fallback) const;
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  // Every value of an option that may be repeated (--eval-data a --eval-data b), in order.
  std::vector<std::string> all(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  void check_single(const std::string& name) const;
  std::map<std::string, std::string> values_;  // the last value of each option
  std::vector<std::pair<std::string, std::string>> ordered_;
  std::map<std::string, bool> flags_;
  std::vector<std::string> positional_;
};

}  // namespace hc::cli
