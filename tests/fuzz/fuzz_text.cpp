// Arbitrary text as captions, class names and prompts (data/tokenizer.h): encoding with a trained
// tokenizer must decode back to the cleaned text and equal the direct (quadratic) BPE loop of
// tests/tokenizer_reference.h; a tokenizer trained on the text's lines must do the same.
#include "data/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/tokenizer_reference.h"

using hc::Tokenizer;

static const Tokenizer& trained() {
  static const Tokenizer tok = Tokenizer::train({"a photo of a red circle", "two blue squares and a green star",
                                                 "aaaa aaaa aaaa bbbb abab abab", "a photo of the small cat"},
                                                400);
  return tok;
}

static void check(const Tokenizer& tok, const std::string& text) {
  std::vector<int32_t> ids = tok.encode(text);
  if (tok.decode(ids) != Tokenizer::clean(text)) hc_fuzz::finding("decode(encode(x)) != clean(x)");
  if (text.size() <= 4096 && ids != hc_test::ReferenceBpe(tok).encode(text))
    hc_fuzz::finding("the heap BPE differs from the reference loop");
  int32_t eot = 0;
  std::vector<int32_t> padded = tok.encode_padded(text, 16, &eot);
  if (padded.size() != 16 || padded[0] != Tokenizer::kSot || padded[eot] != Tokenizer::kEot)
    hc_fuzz::finding("encode_padded layout");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check(trained(), text);
  // A tokenizer learned from the text's lines (a bounded number of merges: fuzzing stays fast).
  std::vector<std::string> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  Tokenizer own = Tokenizer::train(lines, 300);
  check(own, text);
  return 0;
}
