// FNV-1a, 64 bits: a small stable hash for identities recorded in files (a reinforced dataset's
// base dataset, its teachers' checkpoints). Not cryptographic: it detects mistakes, not attacks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace hc {

class Fnv1a64 {
 public:
  void add(const void* data, size_t bytes) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < bytes; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ull;
    }
  }
  // A string and its length, so that ("ab", "c") and ("a", "bc") differ.
  void add(const std::string& s) {
    add_u64(s.size());
    add(s.data(), s.size());
  }
  void add_u64(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    add(b, 8);
  }
  uint64_t value() const { return h_; }
  std::string hex() const {  // "fnv1a64:0123456789abcdef"
    char buf[32];
    std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace hc
