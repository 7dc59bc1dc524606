// Tokenizer files (data/tokenizer.h), also what a checkpoint's metadata holds: the merges are
// checked; a tokenizer that loads must encode and decode a caption exactly, and save and load
// back unchanged.
#include "data/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = hc_fuzz::write_input("in.bpe", data, size);
  hc_fuzz::expect_clean(path, [&] {
    hc::Tokenizer tok = hc::Tokenizer::load(path);
    const std::string text = "A photo of a Red CIRCLE, two squares\tand a cat. \xc3\xa9t\xc3\xa9";
    if (tok.decode(tok.encode(text)) != hc::Tokenizer::clean(text)) hc_fuzz::finding("decode(encode(x)) != clean(x)");
    if (hc::Tokenizer::from_string(tok.to_string(), "again").to_string() != tok.to_string())
      hc_fuzz::finding("a tokenizer changed on a save and load");
  });
  return 0;
}
