// WebDataset brace patterns (data/dataset.h expand_braces): ranges, lists, nesting, literal
// braces; the name count is bounded (lowered here so that fuzzing stays fast).
#include "data/dataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string pattern(reinterpret_cast<const char*>(data), size);
  hc_fuzz::expect_clean("brace pattern", [&] {
    std::vector<std::string> names = hc::expand_braces(pattern, 10000);
    if (names.empty() || names.size() > 10000) hc_fuzz::finding("expand_braces returned an empty or oversized list");
  });
  return 0;
}
