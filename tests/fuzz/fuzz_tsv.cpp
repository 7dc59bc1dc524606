// Caption TSV files (data/dataset.cpp's tsv: reader) and the other line-oriented text files the
// engine reads: class names and prompt templates (infer/templates.h). The scratch folder holds a
// valid image (a.png) and a folder (d) for the TSV's lines to name.
#include <cstring>
#include <filesystem>

#include "data/dataset.h"
#include "infer/templates.h"
#include "tests/data_test_util.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hc_test::write_file(hc_fuzz::scratch_dir() + "/a.png", hc_test::encode_png(hc_test::pattern_image(5, 4)));
  std::filesystem::create_directories(hc_fuzz::scratch_dir() + "/d");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = hc_fuzz::write_input("captions.tsv", data, size);
  std::unique_ptr<hc::Dataset> ds;
  hc_fuzz::expect_clean(path, [&] { ds = hc::open_dataset("tsv:" + path); });
  if (ds) {
    // Images only when no line can name a path outside the scratch folder (no '/' anywhere): the
    // lines then name a.png, the folder d, or files that do not exist.
    const bool local = std::memchr(data, '/', size) == nullptr;
    for (size_t i = 0; i < std::min<size_t>(ds->size(), 8); ++i) {
      ds->caption(i);
      if (local)
        hc_fuzz::expect_clean(hc_fuzz::scratch_dir(), [&] {
          hc::Sample s = ds->get(i);
          if (s.image.rgb.size() != static_cast<size_t>(s.image.width) * s.image.height * 3)
            hc_fuzz::finding("a decoded sample of the wrong size");
        });
    }
  }
  hc_fuzz::expect_clean(path, [&] { hc::load_templates(path); });
  hc_fuzz::expect_clean(path, [&] { hc::load_class_names(path); });
  return 0;
}
