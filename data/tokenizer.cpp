#include "data/tokenizer.h"

#include "data/atomic_file.h"


#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <queue>
#include <sstream>

#include "core/error.h"
#include "data/file_read.h"

namespace hc {

namespace {

constexpr int32_t kFirstMerge = 259;

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Splits cleaned text before each space: "a big cat" -> "a", " big", " cat".
std::vector<std::string> split_units(const std::string& cleaned) {
  std::vector<std::string> units;
  size_t start = 0;
  for (size_t i = 1; i <= cleaned.size(); ++i) {
    if (i == cleaned.size() || cleaned[i] == ' ') {
      if (i > start) units.push_back(cleaned.substr(start, i - start));
      start = i;
    }
  }
  return units;
}

void append_bytes(const std::string& unit, std::vector<int32_t>& ids) {
  for (unsigned char c : unit) ids.push_back(Tokenizer::kFirstByte + static_cast<int32_t>(c));
}

// Replaces every non-overlapping occurrence of (a, b), left to right, with `id`.
void merge_pair(const std::vector<int32_t>& in, int32_t a, int32_t b, int32_t id,
                std::vector<int32_t>& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (i + 1 < in.size() && in[i] == a && in[i + 1] == b) {
      out.push_back(id);
      ++i;
    } else {
      out.push_back(in[i]);
    }
  }
}

}  // namespace

std::vector<std::string> Tokenizer::byte_pieces() {
  std::vector<std::string> p(kFirstMerge);
  for (int c = 0; c < 256; ++c) p[kFirstByte + c] = std::string(1, static_cast<char>(c));
  return p;
}

void Tokenizer::set_merges(std::vector<std::pair<int32_t, int32_t>> merges) {
  merges_ = std::move(merges);
  ranks_.clear();
  ranks_.reserve(merges_.size());
  pieces_ = byte_pieces();
  pieces_.reserve(kFirstMerge + merges_.size());
  for (size_t k = 0; k < merges_.size(); ++k) {
    auto [a, b] = merges_[k];
    ranks_.emplace(pair_key(a, b), static_cast<int32_t>(k));
    pieces_.push_back(pieces_[a] + pieces_[b]);
  }
}

std::string Tokenizer::clean(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

Tokenizer Tokenizer::train(const std::vector<std::string>& captions, int32_t vocab_size) {
  return train(captions, vocab_size, nullptr);
}

Tokenizer Tokenizer::train(const std::vector<std::string>& captions, int32_t vocab_size,
                           const std::function<void(int32_t)>& progress) {
  HC_CHECK(vocab_size >= kFirstMerge, "tokenizer: vocab_size ", vocab_size,
           " is below the ", kFirstMerge, " ids of the specials and bytes");

  // Each distinct unit once, with its frequency.
  std::unordered_map<std::string, int64_t> freq;
  for (const std::string& c : captions)
    for (std::string& u : split_units(clean(c))) ++freq[std::move(u)];

  struct Word {
    std::vector<int32_t> ids;
    int64_t count;
  };
  std::vector<Word> words;
  words.reserve(freq.size());
  for (auto& [unit, n] : freq) {
    if (unit.size() < 2) continue;  // holds no pair, never changes
    Word w;
    append_bytes(unit, w.ids);
    w.count = n;
    words.push_back(std::move(w));
  }
  freq.clear();

  // Pair counts (weighted by unit frequency), the words holding each pair (may list words that
  // no longer hold it; checked on use), and a max-heap with lazy deletion: an entry is current
  // only while its count equals the pair's count.
  std::unordered_map<uint64_t, int64_t> counts;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;
  for (size_t wi = 0; wi < words.size(); ++wi) {
    const Word& w = words[wi];
    for (size_t i = 0; i + 1 < w.ids.size(); ++i) {
      uint64_t k = pair_key(w.ids[i], w.ids[i + 1]);
      counts[k] += w.count;
      auto& list = where[k];
      if (list.empty() || list.back() != static_cast<int32_t>(wi)) list.push_back(static_cast<int32_t>(wi));
    }
  }
  struct Entry {
    int64_t count;
    uint64_t key;
  };
  // Top = highest count, then smallest (first, second).
  auto lower = [](const Entry& x, const Entry& y) {
    return x.count != y.count ? x.count < y.count : x.key > y.key;
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower)> heap(lower);
  for (auto& [k, n] : counts) heap.push({n, k});

  std::vector<std::pair<int32_t, int32_t>> merges;
  std::unordered_map<uint64_t, int64_t> delta;
  std::vector<int32_t> merged;
  // Bytes per id, for the bounds on pieces: a pair whose piece would be too long is never merged.
  std::vector<size_t> piece_bytes(kFirstMerge, 1);
  size_t pieces_total = 256;
  std::unordered_map<uint64_t, bool> too_long;
  const int32_t target = std::min(vocab_size, kMaxVocab) - kFirstMerge;
  while (static_cast<int32_t>(merges.size()) < target) {
    Entry best{0, 0};
    bool found = false;
    while (!heap.empty()) {
      Entry e = heap.top();
      auto it = counts.find(e.key);
      if (it == counts.end() || it->second != e.count || too_long.count(e.key)) {
        heap.pop();  // stale, or a pair that may not be merged
        continue;
      }
      const size_t bytes = piece_bytes[e.key >> 32] + piece_bytes[e.key & 0xffffffffu];
      if (bytes > kMaxPieceBytes) {
        too_long[e.key] = true;
        heap.pop();
        continue;
      }
      best = e;
      found = true;
      break;
    }
    if (!found || best.count < 2) break;
    const int32_t a = static_cast<int32_t>(best.key >> 32), b = static_cast<int32_t>(best.key & 0xffffffffu);
    if (pieces_total + piece_bytes[a] + piece_bytes[b] > kMaxPiecesBytes) break;
    heap.pop();
    piece_bytes.push_back(piece_bytes[a] + piece_bytes[b]);
    pieces_total += piece_bytes.back();
    const int32_t id = kFirstMerge + static_cast<int32_t>(merges.size());
    merges.emplace_back(a, b);

    std::vector<int32_t> holders = std::move(where[best.key]);
    where.erase(best.key);
    delta.clear();
    for (int32_t wi : holders) {
      Word& w = words[wi];
      bool holds = false;
      for (size_t i = 0; i + 1 < w.ids.size() && !holds; ++i) holds = w.ids[i] == a && w.ids[i + 1] == b;
      if (!holds) continue;
      for (size_t i = 0; i + 1 < w.ids.size(); ++i) delta[pair_key(w.ids[i], w.ids[i + 1])] -= w.count;
      merge_pair(w.ids, a, b, id, merged);
      w.ids.swap(merged);
      for (size_t i = 0; i + 1 < w.ids.size(); ++i) {
        int32_t x = w.ids[i], y = w.ids[i + 1];
        uint64_t k = pair_key(x, y);
        delta[k] += w.count;
        // Only pairs with the new id are new to this word; the word is visited once per merge.
        if (x == id || y == id) {
          auto& list = where[k];
          if (list.empty() || list.back() != wi) list.push_back(wi);
        }
      }
    }
    for (auto& [k, d] : delta) {
      if (d == 0) continue;
      int64_t& n = counts[k];
      n += d;
      if (n <= 0) counts.erase(k);
      else heap.push({n, k});
    }
    counts.erase(best.key);
    if (progress && merges.size() % 1000 == 0) progress(static_cast<int32_t>(merges.size()));
  }

  Tokenizer t;
  t.set_merges(std::move(merges));
  return t;
}

// BPE on one word: repeatedly merge the lowest-ranked adjacent pair, every occurrence left to right.
// A min-heap of candidate merges (rank, position of the left symbol) over a linked list of symbols
// does the same in O(n log n): a merge creates only pairs of a higher rank (they hold its new id,
// which later merges alone can use), so all occurrences of one rank are popped before any other,
// leftmost first; entries whose symbols have changed since they were pushed are skipped.
// tests/test_tokenizer.cpp checks it against the direct quadratic loop.
void Tokenizer::encode_unit(const std::string& unit, std::vector<int32_t>& out) const {
  const int32_t n = static_cast<int32_t>(unit.size());
  std::vector<int32_t> id(n), next(n), prev(n);  // id -1: merged into its left neighbour
  for (int32_t i = 0; i < n; ++i) {
    id[i] = kFirstByte + static_cast<unsigned char>(unit[i]);
    next[i] = i + 1;  // n: none
    prev[i] = i - 1;  // -1: none
  }
  using Candidate = std::pair<int32_t, int32_t>;  // rank, left position
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int32_t left) {
    if (left < 0 || next[left] >= n) return;
    auto it = ranks_.find(pair_key(id[left], id[next[left]]));
    if (it != ranks_.end()) heap.push({it->second, left});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const auto [rank, left] = heap.top();
    heap.pop();
    const int32_t right = next[left];
    if (id[left] < 0 || right >= n || id[left] != merges_[rank].first || id[right] != merges_[rank].second) continue;
    id[left] = kFirstMerge + rank;
    id[right] = -1;
    next[left] = next[right];
    if (next[right] < n) prev[next[right]] = left;
    push(prev[left]);
    push(left);
  }
  for (int32_t i = 0; i < n; i = next[i]) out.push_back(id[i]);
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int32_t> out;
  for (const std::string& u : split_units(clean(text))) encode_unit(u, out);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    HC_CHECK(id >= 0 && id < vocab_size(), "tokenizer: cannot decode id ", id,
             ": outside the vocabulary of ", vocab_size());
    out += pieces_[id];  // the specials' pieces are empty
  }
  return out;
}

std::vector<int32_t> Tokenizer::encode_padded(const std::string& text, int64_t context, int32_t* eot) const {
  HC_CHECK(context >= 2, "tokenizer: context ", context, " cannot hold <sot> and <eot>");
  std::vector<int32_t> tokens = encode(text);
  size_t n = std::min(tokens.size(), static_cast<size_t>(context - 2));
  std::vector<int32_t> out(static_cast<size_t>(context), kPad);
  out[0] = kSot;
  std::copy(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n), out.begin() + 1);
  out[n + 1] = kEot;
  if (eot) *eot = static_cast<int32_t>(n + 1);
  return out;
}

static const char* kHeader = "hyperclip-bpe 1";

std::string Tokenizer::to_string() const {
  std::string s = std::string(kHeader) + "\n";
  for (auto [a, b] : merges_) s += std::to_string(a) + " " + std::to_string(b) + "\n";
  return s;
}

// A non-negative decimal id without sign, spaces or leading zeros beyond "0"; false otherwise.
static bool parse_id(const std::string& s, int64_t* v) {
  if (s.empty() || s.size() > 10) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  int64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + (c - '0');
  }
  *v = x;
  return true;
}

Tokenizer Tokenizer::from_string(const std::string& s, const std::string& source_name) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    std::string line = s.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    start = nl + 1;
  }
  HC_CHECK(!lines.empty(), source_name, ": empty tokenizer file (expected the header '", kHeader, "')");
  HC_CHECK(lines[0] == kHeader, source_name, ": line 1: expected the header '", kHeader, "', got '",
           lines[0].substr(0, 60), "'");
  HC_CHECK(lines.size() - 1 <= static_cast<size_t>(kMaxVocab - kFirstMerge), source_name, ": ", lines.size() - 1,
           " merges, more than the limit of ", kMaxVocab - kFirstMerge);
  std::vector<std::pair<int32_t, int32_t>> merges;
  merges.reserve(lines.size() - 1);
  std::vector<size_t> piece_bytes(kFirstMerge, 1);
  size_t pieces_total = 256;
  for (size_t li = 1; li < lines.size(); ++li) {
    const std::string& line = lines[li];
    const size_t line_no = li + 1;
    size_t sp = line.find(' ');
    int64_t a = 0, b = 0;
    HC_CHECK(sp != std::string::npos && parse_id(line.substr(0, sp), &a) && parse_id(line.substr(sp + 1), &b),
             source_name, ": line ", line_no, ": expected a merge as two ids 'A B', got '",
             line.substr(0, 60), "'");
    const int64_t limit = kFirstMerge + static_cast<int64_t>(merges.size());
    for (int64_t id : {a, b})
      HC_CHECK(id >= kFirstByte && id < limit, source_name, ": line ", line_no, ": id ", id,
               " is out of range (a merge here may use ids ", kFirstByte, "..", limit - 1, ")");
    const size_t bytes = piece_bytes[a] + piece_bytes[b];
    HC_CHECK(bytes <= kMaxPieceBytes, source_name, ": line ", line_no, ": merge ", a, " ", b, " makes a piece of ",
             bytes, " bytes, longer than the limit of ", kMaxPieceBytes);
    pieces_total += bytes;
    HC_CHECK(pieces_total <= kMaxPiecesBytes, source_name, ": line ", line_no, ": the pieces add up to more than ",
             kMaxPiecesBytes, " bytes");
    piece_bytes.push_back(bytes);
    merges.emplace_back(static_cast<int32_t>(a), static_cast<int32_t>(b));
  }
  Tokenizer t;
  t.set_merges(std::move(merges));
  return t;
}

void Tokenizer::save(const std::string& path) const {
  AtomicFile out(path);
  out.write(to_string());
  out.commit();
}

Tokenizer Tokenizer::load(const std::string& path) {
  return from_string(read_file_text(path, "tokenizer file"), path);
}

}  // namespace hc
