// A byte-level BPE tokenizer (GPT-2 / CLIP style, written here). Text is cleaned first: ASCII
// lower-cased (other UTF-8 bytes kept as they are), runs of whitespace collapsed to one space,
// leading and trailing space trimmed. Merges never cross a word boundary: words are split before
// each space, so " cat" is one unit.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hc {

class Tokenizer {
 public:
  // Vocabulary layout: id 0 = <pad>, 1 = <sot>, 2 = <eot>, 3..258 = the 256 bytes, then merges in
  // the order learned. vocab_size() = 259 + merges.
  static constexpr int32_t kPad = 0, kSot = 1, kEot = 2, kFirstByte = 3;
  // Bounds on what a tokenizer may hold, so that a file of a few hundred bytes whose merges double
  // a piece's length on every line cannot ask for exponential memory (issue 24): a piece (the bytes
  // a token stands for) is at most kMaxPieceBytes long, all pieces together at most
  // kMaxPiecesBytes, and there are at most kMaxVocab ids. train() does not learn a merge past them.
  static constexpr size_t kMaxPieceBytes = 1024;
  static constexpr size_t kMaxPiecesBytes = size_t{64} << 20;
  static constexpr int32_t kMaxVocab = int32_t{1} << 24;

  // Learns merges from captions until the vocabulary has vocab_size entries (or no pair occurs
  // twice, or the bounds above are reached). Deterministic: ties broken by the smallest pair of ids.
  static Tokenizer train(const std::vector<std::string>& captions, int32_t vocab_size);
  // The same, calling progress(merges learned so far) every 1000 merges (for the CLI's messages).
  static Tokenizer train(const std::vector<std::string>& captions, int32_t vocab_size,
                         const std::function<void(int32_t)>& progress);

  static std::string clean(const std::string& text);
  // Cleaned, no specials. O(n log n) in the length of each word (a heap of candidate merges), so
  // that a caption of one long word cannot stall a loader.
  std::vector<int32_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int32_t>& ids) const;   // skips specials
  // [SOT] tokens [EOT] truncated to `context` (EOT kept), padded with <pad>; eot = EOT's position.
  std::vector<int32_t> encode_padded(const std::string& text, int64_t context, int32_t* eot) const;

  int32_t vocab_size() const { return 259 + static_cast<int32_t>(merges_.size()); }

  // Serialisation: a text format ("hyperclip-bpe 1" header, one merge "a b" per line) so that a
  // tokenizer file can be read by people and stored inside a checkpoint's metadata. from_string
  // checks every id and the bounds above, with errors naming the source and the line.
  std::string to_string() const;
  static Tokenizer from_string(const std::string& s, const std::string& source_name);
  void save(const std::string& path) const;  // atomic
  static Tokenizer load(const std::string& path);

 private:
  std::vector<std::pair<int32_t, int32_t>> merges_;  // merge k creates id 259 + k
  // Derived from merges_ (rebuilt by set_merges): rank of each mergeable pair (key a << 32 | b),
  // and the bytes each id stands for (empty for the specials).
  std::unordered_map<uint64_t, int32_t> ranks_;
  std::vector<std::string> pieces_ = byte_pieces();

  static std::vector<std::string> byte_pieces();
  void set_merges(std::vector<std::pair<int32_t, int32_t>> merges);
  void encode_unit(const std::string& unit, std::vector<int32_t>& out) const;
};

}  // namespace hc
