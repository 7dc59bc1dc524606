// Tokenizer: cleaning, BPE training worked out by hand, encode/decode round trips, the padded
// layout, serialisation and its errors.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/error.h"
#include "core/random.h"
#include "data/tokenizer.h"
#include "tests/tokenizer_reference.h"

using namespace hc;

static std::string temp_path(const std::string& name) {
  return "/tmp/hyperclip_test_" + std::to_string(::getpid()) + "_" + name;
}

static int32_t byte_id(char c) { return Tokenizer::kFirstByte + static_cast<unsigned char>(c); }

static std::vector<std::string> small_corpus() {
  return {"A photo of a cat.",        "a photo of a dog",          "A PHOTO OF TWO CATS",
          "a blurry photo of a cat",  "a photo of the small dog",  "the cat sat on the mat",
          "a dog and a cat",          "two dogs, one cat",         "a photo of a bird",
          "a bird on a branch",       "a small bird",              "the big red car",
          "a red car on the road",    "a photo of a red car",      "cats and dogs"};
}

TEST_CASE("tokenizer: clean lower-cases ASCII and collapses whitespace") {
  CHECK(Tokenizer::clean("Hello World") == "hello world");
  CHECK(Tokenizer::clean("  a \t\n b\r\n  c  ") == "a b c");
  CHECK(Tokenizer::clean("") == "");
  CHECK(Tokenizer::clean(" \t\r\n ") == "");
  CHECK(Tokenizer::clean("ÉCOLE Café") == "École café");  // only ASCII letters change
  CHECK(Tokenizer::clean("A1-B2_C3!") == "a1-b2_c3!");
  CHECK(Tokenizer::clean("x") == "x");
}

TEST_CASE("tokenizer: training learns the merges worked out by hand") {
  // Units: "aaab" x2, "ab" x1. Pair counts: (a,a) = 2*2 = 4, (a,b) = 2 + 1 = 3.
  //   merge 0: (a,a) -> 259;  "aaab" = [259 a b]: (259,a) = 2, (a,b) = 3
  //   merge 1: (a,b) -> 260;  "aaab" = [259 260]: (259,260) = 2
  //   merge 2: (259,260) -> 261; then no pair is left.
  Tokenizer t = Tokenizer::train({"aaab", "aaab", "ab"}, 1000);
  const int32_t a = byte_id('a'), b = byte_id('b');
  CHECK(t.to_string() == "hyperclip-bpe 1\n" + std::to_string(a) + " " + std::to_string(a) + "\n" +
                             std::to_string(a) + " " + std::to_string(b) + "\n259 260\n");
  CHECK(t.vocab_size() == 262);
  CHECK(t.encode("aaab") == std::vector<int32_t>{261});
  CHECK(t.encode("ab") == std::vector<int32_t>{260});
  CHECK(t.encode("aab") == std::vector<int32_t>{259, b});  // (a,a) ranks before (a,b)
  CHECK(t.encode("aaaa") == std::vector<int32_t>{259, 259});

  // Ties go to the smallest pair of ids; a pair seen once is never merged.
  Tokenizer tie = Tokenizer::train({"cd", "ab", "cd", "ab", "xy"}, 1000);
  CHECK(tie.to_string() == "hyperclip-bpe 1\n" + std::to_string(a) + " " + std::to_string(b) + "\n" +
                               std::to_string(byte_id('c')) + " " + std::to_string(byte_id('d')) + "\n");

  // Merges never cross a unit: " b" is one unit, "a" another, so "a b a b" has pairs (' ', b) only.
  Tokenizer units = Tokenizer::train({"a b a b"}, 1000);
  CHECK(units.to_string() ==
        "hyperclip-bpe 1\n" + std::to_string(byte_id(' ')) + " " + std::to_string(b) + "\n");
}

TEST_CASE("tokenizer: vocab_size accounting") {
  CHECK(Tokenizer().vocab_size() == 259);
  CHECK(Tokenizer::train({"aaab", "aaab", "ab"}, 259).vocab_size() == 259);
  CHECK(Tokenizer::train({"aaab", "aaab", "ab"}, 260).vocab_size() == 260);
  CHECK(Tokenizer::train({"aaab", "aaab", "ab"}, 261).vocab_size() == 261);
  CHECK(Tokenizer::train({"aaab", "aaab", "ab"}, 100000).vocab_size() == 262);  // runs out of pairs
  Tokenizer t = Tokenizer::train(small_corpus(), 290);
  CHECK(t.vocab_size() == 290);
  for (const std::string& c : small_corpus())
    for (int32_t id : t.encode(c)) CHECK((id >= Tokenizer::kFirstByte && id < t.vocab_size()));
  CHECK_THROWS_WITH_AS(Tokenizer::train(small_corpus(), 258), doctest::Contains("258"), Error);
}

TEST_CASE("tokenizer: decode(encode(s)) == clean(s), ASCII and UTF-8, with and without merges") {
  const std::vector<std::string> texts = {
      "A photo of a CAT.",  "  spaced \t out \n text ", "café — naïve",
      "emoji 🐱🐶 party",   "日本語のテキスト",          "",
      "zebra quokka xylophone",  // unseen words fall back to bytes
      std::string("bytes \x01\x7f\xff\xfe end")};
  Tokenizer none;
  Tokenizer trained = Tokenizer::train(small_corpus(), 400);
  for (const Tokenizer* t : {&none, &trained}) {
    for (const std::string& s : texts) {
      CAPTURE(s);
      CHECK(t->decode(t->encode(s)) == Tokenizer::clean(s));
    }
  }
  // Without merges, one id per byte.
  CHECK(none.encode("café").size() == 5);
  CHECK(none.encode("Hi") == std::vector<int32_t>{byte_id('h'), byte_id('i')});
  // Merges shorten known text; unseen words still encode.
  CHECK(trained.encode("a photo of a cat").size() < std::string("a photo of a cat").size());
  CHECK(!trained.encode("zzqx").empty());
  // Specials are skipped; unknown ids are an error.
  CHECK(trained.decode({Tokenizer::kSot, byte_id('o'), byte_id('k'), Tokenizer::kEot, Tokenizer::kPad}) == "ok");
  CHECK_THROWS_WITH_AS(trained.decode({trained.vocab_size()}), doctest::Contains("outside the vocabulary"), Error);
  CHECK_THROWS_AS(trained.decode({-1}), Error);
}

TEST_CASE("tokenizer: training is deterministic") {
  std::vector<std::string> corpus = small_corpus();
  Tokenizer a = Tokenizer::train(corpus, 350), b = Tokenizer::train(corpus, 350);
  CHECK(a.to_string() == b.to_string());
  // The order of the captions does not matter either.
  std::vector<std::string> reversed(corpus.rbegin(), corpus.rend());
  CHECK(Tokenizer::train(reversed, 350).to_string() == a.to_string());
}

TEST_CASE("tokenizer: encode_padded layout, truncation keeping EOT, padding") {
  Tokenizer t;  // bytes only: easy to count
  int32_t eot = -1;
  std::vector<int32_t> p = t.encode_padded("Ab c", 8, &eot);
  CHECK(p == std::vector<int32_t>{Tokenizer::kSot, byte_id('a'), byte_id('b'), byte_id(' '), byte_id('c'),
                                  Tokenizer::kEot, Tokenizer::kPad, Tokenizer::kPad});
  CHECK(eot == 5);

  p = t.encode_padded("abcdefgh", 5, &eot);  // truncated: 3 tokens fit
  CHECK(p == std::vector<int32_t>{Tokenizer::kSot, byte_id('a'), byte_id('b'), byte_id('c'), Tokenizer::kEot});
  CHECK(eot == 4);

  p = t.encode_padded("abc", 5, &eot);  // exactly fits
  CHECK(p.back() == Tokenizer::kEot);
  CHECK(eot == 4);

  p = t.encode_padded("", 4, &eot);
  CHECK(p == std::vector<int32_t>{Tokenizer::kSot, Tokenizer::kEot, Tokenizer::kPad, Tokenizer::kPad});
  CHECK(eot == 1);

  p = t.encode_padded("anything", 2, &eot);
  CHECK(p == std::vector<int32_t>{Tokenizer::kSot, Tokenizer::kEot});
  CHECK(eot == 1);
  CHECK(t.encode_padded("x", 3, nullptr).size() == 3);

  CHECK_THROWS_WITH_AS(t.encode_padded("x", 1, &eot), doctest::Contains("context"), Error);
  CHECK_THROWS_AS(t.encode_padded("x", 0, &eot), Error);
}

TEST_CASE("tokenizer: save/load and to_string/from_string round trips") {
  Tokenizer t = Tokenizer::train(small_corpus(), 320);
  std::string path = temp_path("tok.bpe");
  t.save(path);
  Tokenizer u = Tokenizer::load(path);
  CHECK(u.to_string() == t.to_string());
  CHECK(u.vocab_size() == t.vocab_size());
  for (const std::string& c : small_corpus()) CHECK(u.encode(c) == t.encode(c));
  Tokenizer v = Tokenizer::from_string(t.to_string(), "inline");
  CHECK(v.encode("a photo of a red cat") == t.encode("a photo of a red cat"));
  // No temp file is left behind.
  CHECK(::access((path + ".tmp." + std::to_string(::getpid())).c_str(), F_OK) != 0);
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(Tokenizer::load(path), doctest::Contains(path.c_str()), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::load(path), doctest::Contains("cannot open"), Error);
  // A header-only file is an empty merge list.
  CHECK(Tokenizer::from_string("hyperclip-bpe 1\n", "x").vocab_size() == 259);
  CHECK(Tokenizer::from_string("hyperclip-bpe 1", "x").vocab_size() == 259);
}

TEST_CASE("tokenizer: from_string errors name the source and the line") {
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("", "src.bpe"), doctest::Contains("src.bpe"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 2\n", "src.bpe"),
                       doctest::Contains("src.bpe: line 1: expected the header"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("gpt2 merges\n100 101\n", "src.bpe"),
                       doctest::Contains("line 1"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n100 101\n100 x\n", "src.bpe"),
                       doctest::Contains("src.bpe: line 3: expected a merge"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n100\n", "src.bpe"),
                       doctest::Contains("line 2"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n100 101 102\n", "src.bpe"),
                       doctest::Contains("line 2"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n100 101\n\n", "src.bpe"),
                       doctest::Contains("line 3"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n-1 101\n", "src.bpe"),
                       doctest::Contains("line 2"), Error);
  // Line 2 creates 259; line 3 may use 259 but not 260 (not yet created).
  CHECK_NOTHROW(Tokenizer::from_string("hyperclip-bpe 1\n100 101\n259 101\n", "src.bpe"));
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n100 101\n260 101\n", "src.bpe"),
                       doctest::Contains("src.bpe: line 3: id 260 is out of range"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n259 101\n", "src.bpe"),
                       doctest::Contains("line 2: id 259 is out of range"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n2 101\n", "src.bpe"),  // a special
                       doctest::Contains("line 2: id 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_string("hyperclip-bpe 1\n100 99999999999\n", "src.bpe"),
                       doctest::Contains("line 2"), Error);
}

TEST_CASE("tokenizer: the heap BPE encodes exactly as the direct loop, and long words stay fast") {
  Tokenizer tok = Tokenizer::train(small_corpus(), 400);
  hc_test::ReferenceBpe ref(tok);
  Generator g(3);
  const std::string alphabet = "aaabbcdo t.\xc3\xa9";
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const int n = static_cast<int>(g.next_u64() % 60);
    for (int i = 0; i < n; ++i) text += alphabet[g.next_u64() % alphabet.size()];
    CAPTURE(text);
    CHECK(tok.encode(text) == ref.encode(text));
  }
  for (const std::string& c : small_corpus()) CHECK(tok.encode(c) == ref.encode(c));
  // Repeated pairs ("aaaa": which occurrences merge first) and one 200 000-byte word: the direct
  // loop is quadratic in the word's length; the heap is not (this took minutes before issue 24).
  Tokenizer rep = Tokenizer::train({"aaaa aaaa abab abab aaaaaaaa"}, 300);
  for (const char* t : {"aaaaaaa", "abababa", "aaaabab"}) CHECK(rep.encode(t) == hc_test::ReferenceBpe(rep).encode(t));
  std::string word(200000, 'a');
  std::vector<int32_t> ids = rep.encode(word);
  CHECK(rep.decode(ids) == word);
  CHECK(ids.size() <= word.size() / 4);  // the longest piece is "aaaa"
}
