// CIFAR-10 and CIFAR-100 binary batches (data/cifar.cpp): the first byte picks which.
#include <filesystem>

#include "data/dataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool cifar100 = data[0] & 1;
  const std::string dir = hc_fuzz::scratch_dir() + "/cifar";
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir + "/test.bin");
  std::filesystem::remove(dir + "/test_batch.bin");
  const std::string path = hc_fuzz::write_input(cifar100 ? "cifar/test.bin" : "cifar/test_batch.bin", data + 1, size - 1);
  hc::DatasetOptions opt;
  opt.split = "test";
  std::unique_ptr<hc::Dataset> ds;
  hc_fuzz::expect_clean(path, [&] { ds = hc::open_dataset((cifar100 ? "cifar100:" : "cifar10:") + dir, opt); });
  if (!ds) return 0;
  for (size_t i = 0; i < std::min<size_t>(ds->size(), 4); ++i) {
    hc::Sample s = ds->get(i);
    if (s.image.rgb.size() != 32 * 32 * 3 || s.label < 0 || s.label >= static_cast<int>(ds->class_names().size()))
      hc_fuzz::finding("a CIFAR sample out of shape or range");
  }
  return 0;
}
