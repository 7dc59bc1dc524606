// IDX image and label files (data/idx.cpp), plain or gzipped: the input is split into the two.
#include <fuzzer/FuzzedDataProvider.h>

#include "data/dataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string labels = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 4096));
  const std::string images = in.ConsumeRemainingBytesAsString();
  const std::string ip = hc_fuzz::write_input("images.idx", reinterpret_cast<const uint8_t*>(images.data()),
                                              images.size());
  const std::string lp = hc_fuzz::write_input("labels.idx", reinterpret_cast<const uint8_t*>(labels.data()),
                                              labels.size());
  std::unique_ptr<hc::Dataset> ds;
  hc_fuzz::expect_clean(".idx", [&] { ds = hc::open_dataset("idx:" + ip + "," + lp); });
  if (!ds) return 0;
  for (size_t i = 0; i < std::min<size_t>(ds->size(), 4); ++i) {
    hc::Sample s = ds->get(i);
    if (s.label < 0 || s.label >= static_cast<int>(ds->class_names().size())) hc_fuzz::finding("label out of range");
  }
  return 0;
}
