// wds:PATTERN: WebDataset shards, i.e. plain tar files whose members come in groups sharing a key
// ("dir/000123.jpg", "dir/000123.txt"). At open every shard's headers are indexed (member name,
// data offset, size) and image members are paired with their caption members; get() then reads
// just those two members' bytes with pread, so concurrent loader threads need no locking.
//
// Tar layout (POSIX ustar): a sequence of 512-byte headers, each followed by the member's data
// padded to a multiple of 512; two zero blocks end the archive. Long names come either from the
// ustar "prefix" field, a GNU 'L' member, or a pax 'x' extended header's "path" record.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "data/dataset_readers.h"

namespace hc::detail {

namespace {

constexpr uint64_t kBlock = 512;

// Long names (GNU 'L' members and pax headers) are file paths: more than this is damage.
constexpr uint64_t kMaxNameMember = 1 << 20;
// A caption is text; a member larger than this is not one.
constexpr uint64_t kMaxCaptionBytes = 1 << 20;

// A NUL-terminated (or field-filling) string field of a header.
std::string field(const uint8_t* h, size_t off, size_t len) {
  const char* s = reinterpret_cast<const char*>(h + off);
  return std::string(s, strnlen(s, len));
}

// A numeric field: octal digits (space/NUL padded), or GNU's base-256 form for values that do not
// fit (first byte's high bit set). Returns false when the field is malformed.
bool parse_number(const uint8_t* h, size_t off, size_t len, uint64_t& out) {
  const uint8_t* f = h + off;
  if (f[0] & 0x80) {
    uint64_t v = f[0] & 0x7f;
    for (size_t i = 1; i < len; ++i) {
      if (v >> 56) return false;  // would overflow
      v = (v << 8) | f[i];
    }
    out = v;
    return true;
  }
  size_t i = 0;
  while (i < len && f[i] == ' ') ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; ++i) {
    v = v * 8 + (f[i] - '0');
    any = true;
  }
  for (; i < len; ++i)
    if (f[i] != ' ' && f[i] != '\0') return false;
  out = v;
  return any;
}

// The checksum is the sum of the header's bytes with the checksum field itself read as spaces.
// Historic tars summed signed chars, so both sums are accepted.
bool checksum_ok(const uint8_t* h) {
  uint64_t stored = 0;
  if (!parse_number(h, 148, 8, stored)) return false;
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    uint8_t b = (i >= 148 && i < 156) ? ' ' : h[i];
    unsigned_sum += b;
    signed_sum += static_cast<int8_t>(b);
  }
  return static_cast<int64_t>(stored) == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

// The "path" record of a pax extended header ("LEN path=VALUE\n" records, LEN counting the whole
// record), or "". A malformed record ends the parse: LEN must be decimal digits and the record must
// lie within the header, checked without computing pos + LEN (which a huge LEN would wrap around,
// and did: the loop never ended, issue 24).
std::string pax_path(const std::string& data) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t space = data.find(' ', pos);
    if (space == std::string::npos || space == pos || space - pos > 19) break;
    size_t len = 0;
    for (size_t i = pos; i < space; ++i) {
      if (data[i] < '0' || data[i] > '9') return "";
      len = len * 10 + static_cast<size_t>(data[i] - '0');  // at most 19 digits: no overflow
    }
    // The record holds at least its length field and the space, and ends inside the header.
    if (len <= space - pos || len > data.size() - pos) break;
    std::string rec = data.substr(space + 1, pos + len - space - 1);  // "key=value\n"
    if (!rec.empty() && rec.back() == '\n') rec.pop_back();
    if (rec.compare(0, 5, "path=") == 0) return rec.substr(5);
    pos += len;
  }
  return "";
}

struct Member {
  std::string name;
  uint64_t offset = 0, size = 0;
};

// Lists a shard's regular-file members. Errors name the shard and the member concerned.
std::vector<Member> index_shard(const std::string& path) {
  InputFile f(path, "tar shard");
  const uint64_t file_size = f.size();

  std::vector<Member> members;
  std::string long_name;  // from a preceding GNU 'L' or pax 'x' member
  std::string last = "(none: first header)";
  uint64_t pos = 0;
  uint8_t h[kBlock];
  for (;;) {
    // An archive that stops exactly after a member, without the end-of-archive blocks, is read as
    // complete, as Python's tarfile does; stopping anywhere else is truncation.
    if (pos == file_size) break;
    if (kBlock > file_size - pos || !f.read_at(h, kBlock, pos))
      throw Error(cat(path, ": truncated tar file: header at offset ", pos,
                      " runs past the end of the file (", file_size, " bytes), after member '",
                      last, "'"));
    if (std::all_of(h, h + kBlock, [](uint8_t b) { return b == 0; })) break;  // end of archive
    std::string name = field(h, 0, 100);
    if (!checksum_ok(h))
      throw Error(cat(path, ": bad tar header checksum at offset ", pos, " (member '", name,
                      "', after member '", last, "'): corrupt or not a tar file"));
    // ustar splits long paths into prefix "/" name.
    if (std::memcmp(h + 257, "ustar", 5) == 0) {
      std::string prefix = field(h, 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (!long_name.empty()) {
      name = long_name;
      long_name.clear();
    }
    uint64_t size = 0;
    if (!parse_number(h, 124, 12, size))
      throw Error(cat(path, ": member '", name, "' at offset ", pos, " has a malformed size field"));
    const uint64_t data = pos + kBlock;  // <= file_size: the header was read
    if (size > file_size - data)
      throw Error(cat(path, ": truncated tar file: member '", name, "' needs ", size,
                      " bytes at offset ", data, ", but the file has ", file_size, " bytes"));
    const char type = static_cast<char>(h[156]);
    if (type == 'L' || type == 'x') {
      if (size > kMaxNameMember)
        throw Error(cat(path, ": ", type == 'L' ? "GNU long-name" : "pax", " header at offset ", pos, " of ", size,
                        " bytes, more than the ", kMaxNameMember, " a path needs (after member '", last, "')"));
      std::string text(size, '\0');
      if (size > 0 && !f.read_at(text.data(), size, data))
        throw Error(cat(path, ": truncated tar file in member '", name, "'"));
      if (type == 'L') {
        long_name = std::string(text.c_str());  // NUL-terminated
      } else {
        long_name = pax_path(text);
      }
    } else if (type == '0' || type == '\0' || type == '7') {
      members.push_back({name, data, size});
      last = name;
    }  // directories, links and pax globals carry no sample data
    // The data padded to whole blocks; the next header's offset may pass the end of the file,
    // which the next iteration reports as truncation.
    pos = data + (size + kBlock - 1) / kBlock * kBlock;
  }
  return members;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class WdsDataset : public Dataset {
 public:
  explicit WdsDataset(const std::string& pattern) : pattern_(pattern) {
    shards_ = expand_braces(pattern);
    HC_CHECK(!shards_.empty(), "wds:", pattern, ": pattern matches no shards");
    for (size_t s = 0; s < shards_.size(); ++s) index(s, index_shard(shards_[s]));
    HC_CHECK(!samples_.empty(), "wds:", pattern, ": no image/caption pairs in ", shards_.size(),
             " shard(s) (", unpaired_, " unpaired members)");
  }

  size_t size() const override { return samples_.size(); }

  Sample get(size_t i) const override {
    HC_CHECK(i < samples_.size(), describe(), ": sample ", i, " out of range");
    const Entry& e = samples_[i];
    const std::string& shard = shards_[e.shard];
    HC_CHECK(e.image_size <= kMaxImageFileBytes, shard, ": member '", e.image_name, "' of ", e.image_size,
             " bytes, more than the limit of ", kMaxImageFileBytes, " for an image");
    check_caption_size(e);
    InputFile f(shard, "tar shard");
    std::vector<uint8_t> img(e.image_size);
    std::string caption(e.text_size, '\0');
    if (!f.read_at(img.data(), img.size(), e.image_offset) || !f.read_at(caption.data(), caption.size(), e.text_offset))
      throw Error(cat(shard, ": member '", e.image_name, "' could not be read (shard shrank?)"));
    Sample s;
    s.source = shard + ":" + e.image_name;
    s.image = decode_image(img, s.source);
    s.caption = trim_right(caption);
    return s;
  }

  // The caption member alone, without reading or decoding the image.
  std::string caption(size_t i) const override {
    HC_CHECK(i < samples_.size(), describe(), ": sample ", i, " out of range");
    const Entry& e = samples_[i];
    const std::string& shard = shards_[e.shard];
    check_caption_size(e);
    InputFile f(shard, "tar shard");
    std::string text(e.text_size, '\0');
    if (!f.read_at(text.data(), text.size(), e.text_offset))
      throw Error(cat(shard, ": member '", e.image_name, "' caption could not be read"));
    return trim_right(text);
  }

  const std::vector<std::string>& class_names() const override { return no_classes_; }

  std::string describe() const override {
    std::string d = cat("wds:", pattern_, " (", shards_.size(), " shards, ", samples_.size(),
                        " images");
    if (unpaired_ > 0) d += cat(", ", unpaired_, " keys without both an image and a .txt skipped");
    return d + ")";
  }

 private:
  struct Entry {
    uint32_t shard = 0;
    std::string image_name;
    uint64_t image_offset = 0, image_size = 0, text_offset = 0, text_size = 0;
  };

  void check_caption_size(const Entry& e) const {
    HC_CHECK(e.text_size <= kMaxCaptionBytes, shards_[e.shard], ": the caption of '", e.image_name, "' has ",
             e.text_size, " bytes, more than the limit of ", kMaxCaptionBytes);
  }

  // Groups a shard's members by key (the name up to the first '.' of its last path component)
  // and keeps the keys that have both an image and a caption, in the order they first appear.
  void index(size_t shard, const std::vector<Member>& members) {
    struct Group {
      const Member* image = nullptr;
      const Member* text = nullptr;
    };
    std::vector<std::string> order;
    std::unordered_map<std::string, Group> groups;
    for (const Member& m : members) {
      size_t slash = m.name.rfind('/');
      size_t dot = m.name.find('.', slash == std::string::npos ? 0 : slash + 1);
      if (dot == std::string::npos) continue;  // no extension: not part of a sample
      std::string key = m.name.substr(0, dot), ext = lower(m.name.substr(dot + 1));
      bool is_image = ext == "jpg" || ext == "jpeg" || ext == "png";
      if (!is_image && ext != "txt") continue;  // other fields (json, cls, ...) are not used
      auto [it, inserted] = groups.try_emplace(key);
      if (inserted) order.push_back(key);
      if (is_image && !it->second.image) it->second.image = &m;
      if (!is_image && !it->second.text) it->second.text = &m;
    }
    for (const std::string& key : order) {
      const Group& g = groups[key];
      if (!g.image || !g.text) {
        ++unpaired_;
        continue;
      }
      Entry e;
      e.shard = static_cast<uint32_t>(shard);
      e.image_name = g.image->name;
      e.image_offset = g.image->offset;
      e.image_size = g.image->size;
      e.text_offset = g.text->offset;
      e.text_size = g.text->size;
      samples_.push_back(std::move(e));
    }
  }

  std::string pattern_;
  std::vector<std::string> shards_;
  std::vector<Entry> samples_;
  size_t unpaired_ = 0;
  std::vector<std::string> no_classes_;
};

}  // namespace

std::unique_ptr<Dataset> open_wds_dataset(const std::string& pattern) {
  return std::make_unique<WdsDataset>(pattern);
}

}  // namespace hc::detail
