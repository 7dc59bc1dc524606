#include "cli/args.h"

#include <algorithm>

#include "core/error.h"

namespace hc::cli {

Args::Args(int argc, char** argv, const std::vector<std::string>& known,
           const std::vector<std::string>& flags) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o") a = "--output";  // the one short option: -o FILE
    if (a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      HC_CHECK(!inline_value, "option --", name, " takes no value");
      flags_[name] = true;
      continue;
    }
    HC_CHECK(std::find(known.begin(), known.end(), name) != known.end(), "unknown option --", name);
    if (!inline_value) {
      HC_CHECK(i + 1 < argc, "option --", name, " needs a value");
      value = argv[++i];
    }
    values_[name] = value;
    ordered_.emplace_back(name, value);
  }
}

std::vector<std::string> Args::all(const std::string& name) const {
  std::vector<std::string> out;
  for (auto& [n, v] : ordered_)
    if (n == name) out.push_back(v);
  return out;
}

// A single-value option given twice would otherwise keep only its last value, silently.
void Args::check_single(const std::string& name) const {
  size_t n = all(name).size();
  HC_CHECK(n <= 1, "option --", name, " given ", n, " times; it takes one value");
}

std::string Args::get(const std::string& name) const {
  auto it = values_.find(name);
  HC_CHECK(it != values_.end(), "missing required option --", name);
  check_single(name);
  return it->second;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  check_single(name);
  return it->second;
}

static int64_t parse_int(const std::string& name, const std::string& v) {
  size_t used = 0;
  long long x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (...) {
    used = 0;
  }
  HC_CHECK(used == v.size() && !v.empty(), "option --", name, " expects an integer, got '", v, "'");
  return x;
}

int64_t Args::get_int(const std::string& name) const { return parse_int(name, get(name)); }
int64_t Args::get_int(const std::string& name, int64_t fallback) const {
  return has(name) ? parse_int(name, get(name)) : fallback;
}

double Args::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  std::string v = get(name);
  size_t used = 0;
  double x = 0;
  try {
    x = std::stod(v, &used);
  } catch (...) {
    used = 0;
  }
  HC_CHECK(used == v.size() && !v.empty(), "option --", name, " expects a number, got '", v, "'");
  return x;
}

bool Args::get_yes_no(const std::string& name, bool fallback) const {
  if (!has(name)) return fallback;
  std::string v = get(name);
  HC_CHECK(v == "yes" || v == "no", "--", name, " expects yes or no, got '", v, "'");
  return v == "yes";
}

}  // namespace hc::cli
