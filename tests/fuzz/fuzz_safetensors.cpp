// safetensors files (data/safetensors.h): header, offsets, shapes, dtypes. A file that is read must
// give the tensors its header lists, as many elements as the header counts.
#include "data/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = hc_fuzz::write_input("in.safetensors", data, size);
  hc_fuzz::expect_clean(path, [&] {
    hc::SafeTensorsHeader h = hc::read_safetensors_header(path);
    hc::SafeTensors st = hc::read_safetensors(path);
    if (st.tensors.size() != h.entries.size() || st.total_elements() != h.total_elements())
      hc_fuzz::finding("read_safetensors and read_safetensors_header disagree");
  });
  return 0;
}
