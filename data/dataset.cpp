// open_dataset(): DATA spec dispatch, brace expansion, and the two file-system readers (tsv: and
// folder:). The archive and binary readers live in wds.cpp, cifar.cpp and idx.cpp.
#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "data/dataset_readers.h"
#include "data/synthetic.h"

namespace fs = std::filesystem;

namespace hc {

namespace detail {

std::string trim_right(const std::string& s) {
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r' ||
                     s[end - 1] == '\n'))
    --end;
  return s.substr(0, end);
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(cat(path, ": cannot open (", std::strerror(errno), ")"));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(cat(path, ": read error"));
  return bytes;
}

std::vector<std::string> read_class_names(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(cat(path, ": cannot open class-names file (", std::strerror(errno), ")"));
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    line = trim_right(line);
    if (!line.empty()) names.push_back(line);
  }
  HC_CHECK(!names.empty(), path, ": class-names file has no names");
  return names;
}

}  // namespace detail

namespace {

using detail::trim_right;

// ---- tsv:FILE ------------------------------------------------------------------------------------

class TsvDataset : public Dataset {
 public:
  explicit TsvDataset(const std::string& file) : file_(file) {
    std::ifstream in(file);
    if (!in) throw Error(cat(file, ": cannot open TSV file (", std::strerror(errno), ")"));
    // Image paths are relative to the TSV's own folder, so a dataset can be moved as a whole.
    const fs::path base = fs::path(file).parent_path();
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();  // Windows line ends
      if (trim_right(line).empty()) continue;
      size_t tab = line.find('\t');
      HC_CHECK(tab != std::string::npos, file, ":", line_no,
               ": expected \"path<TAB>caption\", found no tab");
      std::string path = line.substr(0, tab), caption = trim_right(line.substr(tab + 1));
      HC_CHECK(!path.empty(), file, ":", line_no, ": empty image path");
      HC_CHECK(!caption.empty(), file, ":", line_no, ": empty caption");
      // Existence is checked lazily in get(): stat-ing millions of files at open is slow.
      paths_.push_back((base / path).string());
      captions_.push_back(caption);
    }
    HC_CHECK(!paths_.empty(), file, ": TSV file lists no images");
  }
  size_t size() const override { return paths_.size(); }
  Sample get(size_t i) const override {
    HC_CHECK(i < paths_.size(), describe(), ": sample ", i, " out of range");
    Sample s;
    s.image = load_image(paths_[i]);
    s.caption = captions_[i];
    s.source = paths_[i];
    return s;
  }
  std::string caption(size_t i) const override { return captions_.at(i); }  // no decoding
  std::string source(size_t i) const override { return paths_.at(i); }
  const std::vector<std::string>& class_names() const override { return no_classes_; }
  std::string describe() const override {
    return cat("tsv:", file_, " (", paths_.size(), " images)");
  }

 private:
  std::string file_;
  std::vector<std::string> paths_, captions_;
  std::vector<std::string> no_classes_;
};

// ---- folder:DIR ----------------------------------------------------------------------------------

class FolderDataset : public Dataset {
 public:
  FolderDataset(const std::string& dir, const std::string& class_names_file) : dir_(dir) {
    std::error_code ec;
    HC_CHECK(fs::is_directory(dir, ec), dir, ": not a directory");
    // Sorted by name so that class indices are the same on every machine and file system.
    std::vector<fs::path> class_dirs;
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      if (name.empty() || name[0] == '.') continue;  // hidden entries (.git, .DS_Store)
      if (entry.is_directory()) class_dirs.push_back(entry.path());
    }
    std::sort(class_dirs.begin(), class_dirs.end());
    HC_CHECK(!class_dirs.empty(), dir, ": no class sub-folders");

    if (!class_names_file.empty()) {
      names_ = detail::read_class_names(class_names_file);
      HC_CHECK(names_.size() == class_dirs.size(), class_names_file, ": ", names_.size(),
               " class names, but ", dir, " has ", class_dirs.size(), " class folders");
    } else {
      for (const fs::path& d : class_dirs) {
        std::string name = d.filename().string();
        std::replace(name.begin(), name.end(), '_', ' ');  // "aquarium_fish" -> "aquarium fish"
        names_.push_back(name);
      }
    }

    for (size_t label = 0; label < class_dirs.size(); ++label) {
      std::vector<std::string> files;
      for (const auto& entry : fs::directory_iterator(class_dirs[label])) {
        std::string name = entry.path().filename().string();
        if (!name.empty() && name[0] != '.' && entry.is_regular_file() && is_image_name(name))
          files.push_back(entry.path().string());
      }
      std::sort(files.begin(), files.end());
      for (std::string& f : files) {
        paths_.push_back(std::move(f));
        labels_.push_back(static_cast<int>(label));
      }
    }
    HC_CHECK(!paths_.empty(), dir, ": no .png/.jpg/.jpeg images in its class folders");
  }
  size_t size() const override { return paths_.size(); }
  Sample get(size_t i) const override {
    HC_CHECK(i < paths_.size(), describe(), ": sample ", i, " out of range");
    Sample s;
    s.image = load_image(paths_[i]);
    s.label = labels_[i];
    s.source = paths_[i];
    return s;
  }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string describe() const override {
    return cat("folder:", dir_, " (", paths_.size(), " images, ", names_.size(), " classes)");
  }

 private:
  std::string dir_;
  std::vector<std::string> names_, paths_;
  std::vector<int> labels_;
};

// ---- brace expansion -----------------------------------------------------------------------------

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The alternatives a brace group's contents stand for, or an empty list when the group is not an
// expansion (no ".." range and no comma), in which case the braces are kept literally, as bash does.
std::vector<std::string> brace_alternatives(const std::string& body, const std::string& pattern) {
  std::vector<std::string> alts;
  size_t dots = body.find("..");
  if (dots != std::string::npos && body.find(',') == std::string::npos) {
    std::string a = body.substr(0, dots), b = body.substr(dots + 2);
    HC_CHECK(all_digits(a) && all_digits(b), "brace pattern '", pattern, "': range {", body,
             "} must be two non-negative integers");
    HC_CHECK(a.size() <= 18 && b.size() <= 18, "brace pattern '", pattern, "': range {", body,
             "} is too large");
    long long lo = std::stoll(a), hi = std::stoll(b);
    // Zero padding is kept when either end is written with a leading zero ({000..999}).
    bool padded = (a.size() > 1 && a[0] == '0') || (b.size() > 1 && b[0] == '0');
    size_t width = padded ? std::max(a.size(), b.size()) : 0;
    long long step = lo <= hi ? 1 : -1;
    HC_CHECK((hi - lo) * step < 10000000, "brace pattern '", pattern, "': range {", body,
             "} has more than 10 million values");
    for (long long v = lo;; v += step) {
      std::string s = std::to_string(v);
      if (s.size() < width) s.insert(0, width - s.size(), '0');
      alts.push_back(s);
      if (v == hi) break;
    }
    return alts;
  }
  // A list: split at the commas that are not inside a nested group.
  int depth = 0;
  size_t start = 0;
  bool has_comma = false;
  for (size_t i = 0; i <= body.size(); ++i) {
    if (i < body.size() && body[i] == '{') ++depth;
    if (i < body.size() && body[i] == '}') --depth;
    if (i == body.size() || (body[i] == ',' && depth == 0)) {
      if (i < body.size()) has_comma = true;
      alts.push_back(body.substr(start, i - start));
      start = i + 1;
    }
  }
  if (!has_comma) alts.clear();
  return alts;
}

void expand_into(const std::string& p, const std::string& pattern, std::vector<std::string>& out) {
  size_t open = p.find('{');
  if (open == std::string::npos) {
    out.push_back(p);
    return;
  }
  int depth = 0;
  size_t close = std::string::npos;
  for (size_t i = open; i < p.size(); ++i) {
    if (p[i] == '{') ++depth;
    if (p[i] == '}' && --depth == 0) {
      close = i;
      break;
    }
  }
  HC_CHECK(close != std::string::npos, "brace pattern '", pattern, "': unmatched '{'");
  std::string prefix = p.substr(0, open), suffix = p.substr(close + 1);
  std::vector<std::string> alts = brace_alternatives(p.substr(open + 1, close - open - 1), pattern);
  if (alts.empty()) {
    // Literal braces: keep them and expand what follows.
    std::vector<std::string> rest;
    expand_into(suffix, pattern, rest);
    for (const std::string& r : rest) out.push_back(p.substr(0, close + 1) + r);
    return;
  }
  // The prefix has no braces, so expanding prefix + alternative + suffix handles nested groups
  // inside an alternative and later groups in the suffix alike.
  for (const std::string& a : alts) expand_into(prefix + a + suffix, pattern, out);
}

}  // namespace

std::vector<std::string> expand_braces(const std::string& pattern) {
  std::vector<std::string> out;
  expand_into(pattern, pattern, out);
  return out;
}

std::unique_ptr<Dataset> open_dataset(const std::string& spec, const DatasetOptions& opt) {
  static const char* kKnown = "tsv, folder, wds, cifar10, cifar100, idx, synthetic";
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  std::string arg = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
  if (kind == "synthetic") {
    SyntheticOptions so;
    so.seed = opt.seed;
    if (opt.synthetic_train_size > 0) so.train_size = opt.synthetic_train_size;
    return make_synthetic_dataset(arg, opt.split, so);
  }
  bool known = kind == "tsv" || kind == "folder" || kind == "wds" || kind == "cifar10" ||
               kind == "cifar100" || kind == "idx";
  HC_CHECK(known, "unknown dataset type '", kind, "' in DATA spec '", spec, "' (known: ", kKnown,
           "; e.g. tsv:captions.tsv)");
  HC_CHECK(!arg.empty(), "DATA spec '", spec, "': ", kind, ": needs a path after the colon");
  if (kind == "tsv") return std::make_unique<TsvDataset>(arg);
  if (kind == "folder") return std::make_unique<FolderDataset>(arg, opt.class_names_file);
  if (kind == "wds") return detail::open_wds_dataset(arg);
  if (kind == "cifar10") return detail::open_cifar_dataset(arg, false, opt);
  if (kind == "cifar100") return detail::open_cifar_dataset(arg, true, opt);
  return detail::open_idx_dataset(arg, opt);
}

}  // namespace hc
