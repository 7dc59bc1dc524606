// Image decoding (data/image_decode.cpp: libjpeg-turbo and libpng behind setjmp/longjmp), then the
// preprocessing every training sample goes through. The libraries themselves are not instrumented
// here (Debian's builds); they are fuzzed upstream (OSS-Fuzz). The pixel limit is lowered so that
// inputs claiming large images stay fast.
#include "data/image.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  hc_fuzz::expect_clean("fuzz.img", [&] {
    hc::Image img = hc::decode_image(bytes, "fuzz.img", int64_t{1} << 20);
    if (img.width <= 0 || img.height <= 0 || img.rgb.size() != static_cast<size_t>(img.width) * img.height * 3)
      hc_fuzz::finding("a decoded image of the wrong size");
    hc::Image crop = hc::resize_center_crop(img, 16);
    if (crop.width != 16 || crop.height != 16) hc_fuzz::finding("resize_center_crop size");
  });
  return 0;
}
