// .npy files (data/npy.h): the header dict, dtype and shape against the file's size. What is read
// must write back and read again unchanged.
#include <cstring>

#include "data/npy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = hc_fuzz::write_input("in.npy", data, size);
  hc_fuzz::expect_clean(path, [&] {
    hc::Tensor t = hc::read_npy(path);
    const std::string again = hc_fuzz::scratch_dir() + "/again.npy";
    hc::write_npy(again, t);
    hc::Tensor u = hc::read_npy(again);
    if (u.shape() != t.shape() || u.dtype() != t.dtype() ||
        (t.numel() > 0 && std::memcmp(u.raw_data(), t.raw_data(), static_cast<size_t>(t.numel()) * 4) != 0))
      hc_fuzz::finding("an .npy array changed on a write and read");
  });
  return 0;
}
