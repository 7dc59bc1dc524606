#include "models/image_tower.h"

#include <cstdlib>

#include "core/error.h"

namespace hc {

int64_t ImageTower::assign_generated_offsets(const std::string& which) {
  std::vector<GeneratedNorm*> norms = generated_norms();
  const int64_t L = static_cast<int64_t>(norms.size());
  int64_t first = 0, last = L;  // the selected layers are norms[first, last)
  if (which != "all") {
    size_t colon = which.find(':');
    std::string kind = which.substr(0, colon);
    const char* digits = colon == std::string::npos ? "" : which.c_str() + colon + 1;
    char* end = nullptr;
    long long n = std::strtoll(digits, &end, 10);
    HC_CHECK((kind == "first" || kind == "last") && *digits != '\0' && *end == '\0',
             "generated layers '", which, "': expected all, first:N or last:N");
    HC_CHECK(n >= 1 && n <= L, "generated layers '", which, "': N must be between 1 and ", L,
             ", the number of norm layers this image tower can generate");
    if (kind == "first") last = n;
    else first = L - n;
  }
  int64_t p = 0;
  for (int64_t i = 0; i < L; ++i) {
    norms[i]->offset = -1;
    if (i < first || i >= last) continue;
    norms[i]->offset = p;
    p += 2 * norms[i]->channels;
  }
  return p;
}

}  // namespace hc
