// Numbers read from JSON that came from a file. nlohmann's get<int64_t>() casts a float or an
// out-of-range integer without a check (1e300 -> int64 is undefined behaviour, -1 -> uint64 wraps),
// so every number the engine takes from a file goes through these, with its range (issue 24).
#pragma once
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace hc {

// An integer in [lo, hi]. A float is accepted when it is integral and in range (16.0), as Python's
// json writes some counts. `what` names the file and the field in messages.
inline int64_t json_int(const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& what) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    HC_CHECK(hi >= 0 && u <= static_cast<uint64_t>(hi) && static_cast<int64_t>(u) >= lo, what, " = ", u,
             " is outside [", lo, ", ", hi, "]");
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    HC_CHECK(i >= lo && i <= hi, what, " = ", i, " is outside [", lo, ", ", hi, "]");
    return i;
  }
  HC_CHECK(v.is_number_float(), what, " must be an integer, got ", v.dump().substr(0, 40));
  double d = v.get<double>();
  HC_CHECK(std::isfinite(d) && d == std::floor(d), what, " must be an integer, got ", v.dump().substr(0, 40));
  HC_CHECK(d >= static_cast<double>(lo) && d <= static_cast<double>(hi), what, " = ", v.dump(), " is outside [", lo,
           ", ", hi, "]");
  return static_cast<int64_t>(d);
}

// A finite number in [lo, hi].
inline double json_number(const nlohmann::json& v, double lo, double hi, const std::string& what) {
  HC_CHECK(v.is_number(), what, " must be a number, got ", v.dump().substr(0, 40));
  double d = v.get<double>();
  HC_CHECK(std::isfinite(d) && d >= lo && d <= hi, what, " = ", v.dump().substr(0, 40), " is outside [", lo, ", ", hi,
           "]");
  return d;
}

inline std::string json_string(const nlohmann::json& v, const std::string& what) {
  HC_CHECK(v.is_string(), what, " must be a string, got ", v.dump().substr(0, 40));
  return v.get<std::string>();
}

// obj[key], which must exist; obj must be an object.
inline const nlohmann::json& json_at(const nlohmann::json& obj, const char* key, const std::string& what) {
  HC_CHECK(obj.is_object(), what, " must be a JSON object");
  auto it = obj.find(key);
  HC_CHECK(it != obj.end(), what, " lacks '", key, "'");
  return *it;
}

}  // namespace hc
