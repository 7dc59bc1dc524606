// The direct BPE encoding (the tokenizer's loop before issue 24: find the lowest-ranked adjacent
// pair, merge every occurrence left to right, repeat; quadratic in the word's length), kept as the
// reference the heap-based Tokenizer::encode is checked against, in tests/test_tokenizer.cpp and
// in the text fuzz harness.
#pragma once
#include <climits>
#include <cstdint>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/tokenizer.h"

namespace hc_test {

struct ReferenceBpe {
  std::vector<std::pair<int32_t, int32_t>> merges;
  std::unordered_map<uint64_t, int32_t> ranks;

  explicit ReferenceBpe(const hc::Tokenizer& tok) {
    std::istringstream in(tok.to_string());
    std::string header;
    std::getline(in, header);
    int32_t a, b;
    while (in >> a >> b) {
      ranks.emplace(key(a, b), static_cast<int32_t>(merges.size()));
      merges.emplace_back(a, b);
    }
  }
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void encode_unit(const std::string& unit, std::vector<int32_t>& out) const {
    std::vector<int32_t> ids, merged;
    for (unsigned char c : unit) ids.push_back(hc::Tokenizer::kFirstByte + c);
    while (ids.size() >= 2) {
      int32_t best = INT32_MAX;
      for (size_t i = 0; i + 1 < ids.size(); ++i) {
        auto it = ranks.find(key(ids[i], ids[i + 1]));
        if (it != ranks.end() && it->second < best) best = it->second;
      }
      if (best == INT32_MAX) break;
      merged.clear();
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i + 1 < ids.size() && ids[i] == merges[best].first && ids[i + 1] == merges[best].second) {
          merged.push_back(259 + best);
          ++i;
        } else {
          merged.push_back(ids[i]);
        }
      }
      ids.swap(merged);
    }
    out.insert(out.end(), ids.begin(), ids.end());
  }

  // Cleaned as Tokenizer::clean does, split before each space, each word encoded.
  std::vector<int32_t> encode(const std::string& text) const {
    std::string cleaned = hc::Tokenizer::clean(text);
    std::vector<int32_t> out;
    size_t start = 0;
    for (size_t i = 1; i <= cleaned.size(); ++i)
      if (i == cleaned.size() || cleaned[i] == ' ') {
        if (i > start) encode_unit(cleaned.substr(start, i - start), out);
        start = i;
      }
    return out;
  }
};

}  // namespace hc_test
