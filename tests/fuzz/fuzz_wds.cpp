// WebDataset tar shards (data/wds.cpp): headers, checksums, long names (GNU 'L', pax 'x'), sizes;
// then the samples' images and captions.
#include "data/dataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = hc_fuzz::write_input("shard.tar", data, size);
  std::unique_ptr<hc::Dataset> ds;
  hc_fuzz::expect_clean(path, [&] { ds = hc::open_dataset("wds:" + path); });
  if (!ds) return 0;
  ds->describe();
  for (size_t i = 0; i < std::min<size_t>(ds->size(), 8); ++i) {
    hc_fuzz::expect_clean(path, [&] { ds->caption(i); });
    hc_fuzz::expect_clean(path, [&] {
      hc::Sample s = ds->get(i);
      if (s.image.rgb.size() != static_cast<size_t>(s.image.width) * s.image.height * 3)
        hc_fuzz::finding("a decoded sample of the wrong size");
    });
  }
  return 0;
}
