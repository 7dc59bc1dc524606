// Errors: every failure in the engine is an hc::Error with a message that says what went wrong.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace hc {

struct Error : std::runtime_error {
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// Builds a message from any streamable pieces: hc::cat("bad shape ", s, " in ", op).
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace hc

// HC_CHECK(cond, pieces...): throws hc::Error with the pieces joined when cond is false.
#define HC_CHECK(cond, ...)                                         \
  do {                                                              \
    if (!(cond)) throw ::hc::Error(::hc::cat(__VA_ARGS__));         \
  } while (0)
