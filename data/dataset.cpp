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
#include <sstream>
#include <map>
#include <set>

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

std::vector<std::string> read_class_names(const std::string& path) {
  std::istringstream in(read_file_text(path, "class-names file"));
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

// Splits a line at every tab.
std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

class TsvDataset : public Dataset {
 public:
  explicit TsvDataset(const std::string& file) : file_(file) {
    std::istringstream in(read_file_text(file, "TSV file"));
    // Image paths are relative to the TSV's own folder, so a dataset can be moved as a whole.
    const fs::path base = fs::path(file).parent_path();
    std::string line;
    size_t line_no = 0;
    bool first = true;
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();  // Windows line ends
      if (trim_right(line).empty()) continue;
      if (first) {
        first = false;
        if (read_header(line, line_no)) continue;
      }
      std::string path, caption;
      if (!header_) {  // no header: everything after the first tab is the caption
        size_t tab = line.find('\t');
        HC_CHECK(tab != std::string::npos, file, ":", line_no,
                 ": expected \"path<TAB>caption\", found no tab");
        path = line.substr(0, tab);
        caption = trim_right(line.substr(tab + 1));
      } else {
        std::vector<std::string> f = split_tabs(line);
        HC_CHECK(f.size() == columns_.size() + 2, file, ":", line_no, ": ", f.size(), " fields, but the header names ",
                 columns_.size() + 2);
        path = f[0];
        caption = trim_right(f[1]);
        for (size_t c = 0; c < columns_.size(); ++c) {
          std::string v = trim_right(f[c + 2]);
          HC_CHECK(!v.empty(), file, ":", line_no, ": empty '", columns_[c].name, "' field");
          columns_[c].of_sample.push_back(columns_[c].intern(v));
        }
      }
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
  SampleGroups sample_groups(const std::string& column) const override {
    SampleGroups g;
    for (const Column& c : columns_)
      if (c.name == column) {
        g.source = cat("column '", column, "' of tsv:", file_);
        g.names = c.values;
        g.of_sample = c.of_sample;
      }
    return g;
  }

 private:
  // A named column after path and caption: each row's value as an index into `values`.
  struct Column {
    std::string name;
    std::vector<std::string> values;
    std::map<std::string, int32_t> index;
    std::vector<int32_t> of_sample;
    int32_t intern(const std::string& v) {
      auto [it, added] = index.emplace(v, static_cast<int32_t>(values.size()));
      if (added) values.push_back(v);
      return it->second;
    }
  };

  // A first line "path<TAB>caption[<TAB>name]..." names the columns; true when it did.
  bool read_header(const std::string& line, size_t line_no) {
    std::vector<std::string> f = split_tabs(line);
    for (std::string& x : f) x = trim_right(x);
    if (f.size() < 2 || f[0] != "path" || f[1] != "caption") return false;
    std::set<std::string> seen = {"path", "caption"};
    for (size_t c = 2; c < f.size(); ++c) {
      HC_CHECK(!f[c].empty(), file_, ":", line_no, ": header column ", c + 1, " has no name");
      HC_CHECK(seen.insert(f[c]).second, file_, ":", line_no, ": header names column '", f[c], "' twice");
      columns_.push_back(Column{f[c], {}, {}, {}});
    }
    header_ = true;
    return true;
  }

  std::string file_;
  bool header_ = false;
  std::vector<Column> columns_;
  std::vector<std::string> paths_, captions_;
  std::vector<std::string> no_classes_;
};

// ---- folder:DIR ----------------------------------------------------------------------------------

// The visible sub-folders of a folder, sorted by name so that class indices are the same on every
// machine and file system.
std::vector<fs::path> sorted_subfolders(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // hidden entries (.git, .DS_Store)
    if (entry.is_directory()) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool holds_images(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] != '.' && entry.is_regular_file() && is_image_name(name)) return true;
  }
  return false;
}

std::string folder_display_name(const fs::path& d) {
  std::string name = d.filename().string();
  std::replace(name.begin(), name.end(), '_', ' ');  // "aquarium_fish" -> "aquarium fish"
  return name;
}

class FolderDataset : public Dataset {
 public:
  FolderDataset(const std::string& dir, const std::string& class_names_file) : dir_(dir) {
    std::error_code ec;
    HC_CHECK(fs::is_directory(dir, ec), dir, ": not a directory");
    std::vector<fs::path> class_dirs = sorted_subfolders(dir);
    HC_CHECK(!class_dirs.empty(), dir, ": no class sub-folders");
    // Two-level layout DIR/<group>/<class>/: no sub-folder holds images itself and some hold
    // folders. Such a folder was an error before ("no images"), so a one-level folder reads as it
    // always did.
    bool two_level = std::none_of(class_dirs.begin(), class_dirs.end(), holds_images) &&
                     std::any_of(class_dirs.begin(), class_dirs.end(),
                                 [](const fs::path& d) { return !sorted_subfolders(d).empty(); });
    if (two_level) {
      std::vector<fs::path> classes;
      for (const fs::path& g : class_dirs)
        for (const fs::path& c : sorted_subfolders(g)) {
          classes.push_back(c);
          groups_.push_back(folder_display_name(g));
        }
      class_dirs = classes;
    }

    if (!class_names_file.empty()) {
      names_ = detail::read_class_names(class_names_file);
      HC_CHECK(names_.size() == class_dirs.size(), class_names_file, ": ", names_.size(),
               " class names, but ", dir, " has ", class_dirs.size(), " class folders");
    } else {
      std::map<std::string, size_t> seen;
      for (const fs::path& d : class_dirs) {
        names_.push_back(folder_display_name(d));
        auto [it, added] = seen.emplace(names_.back(), names_.size() - 1);
        HC_CHECK(added, dir, ": class '", names_.back(), "' is in two groups (", groups_.at(it->second), ", ",
                 groups_.back(), "); class names must be unique");
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
    std::string groups;
    if (!groups_.empty()) groups = cat(" in ", std::set<std::string>(groups_.begin(), groups_.end()).size(), " groups");
    return cat("folder:", dir_, " (", paths_.size(), " images", groups, ", ", names_.size(), " classes)");
  }
  std::vector<std::string> class_groups() const override { return groups_; }
  SampleGroups sample_groups(const std::string&) const override {
    SampleGroups g;
    if (groups_.empty()) return g;
    g.source = cat("class-folder groups of folder:", dir_);
    std::map<std::string, int32_t> id;
    std::vector<int32_t> class_group;
    for (const std::string& name : groups_) {
      auto [it, added] = id.emplace(name, static_cast<int32_t>(g.names.size()));
      if (added) g.names.push_back(name);
      class_group.push_back(it->second);
    }
    for (int label : labels_) g.of_sample.push_back(class_group[label]);
    return g;
  }

 private:
  std::string dir_;
  std::vector<std::string> names_, paths_;
  std::vector<std::string> groups_;  // per class, two-level layout only
  std::vector<int> labels_;
};

// ---- brace expansion -----------------------------------------------------------------------------

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The alternatives a brace group's contents stand for, or an empty list when the group is not an
// expansion (no ".." range and no comma), in which case the braces are kept literally, as bash does.
// Brace patterns expand to a product of their groups' sizes; the names made so far are counted
// against these bounds, so that {0..9999999}{0..9999999} is an error instead of an exhausted
// memory (issue 24).
struct BraceBudget {
  size_t max_names;
  size_t names = 0, bytes = 0;
  static constexpr size_t kMaxBytes = size_t{256} << 20;
  void add(const std::string& pattern, const std::string& name) {
    ++names;
    bytes += name.size();
    HC_CHECK(names <= max_names && bytes <= kMaxBytes, "brace pattern '", pattern.substr(0, 200),
             "' expands to more than ", max_names, " names (or ", kMaxBytes, " bytes of names)");
  }
};

std::vector<std::string> brace_alternatives(const std::string& body, const std::string& pattern,
                                            const BraceBudget& budget) {
  std::vector<std::string> alts;
  size_t dots = body.find("..");
  if (dots != std::string::npos && body.find(',') == std::string::npos) {
    std::string a = body.substr(0, dots), b = body.substr(dots + 2);
    HC_CHECK(all_digits(a) && all_digits(b), "brace pattern '", pattern, "': range {", body,
             "} must be two non-negative integers");
    HC_CHECK(a.size() <= 18 && b.size() <= 18, "brace pattern '", pattern, "': range {", body,
             "} is too large");
    long long lo = std::stoll(a), hi = std::stoll(b);  // at most 18 digits: fits
    // Zero padding is kept when either end is written with a leading zero ({000..999}).
    bool padded = (a.size() > 1 && a[0] == '0') || (b.size() > 1 && b[0] == '0');
    size_t width = padded ? std::max(a.size(), b.size()) : 0;
    long long step = lo <= hi ? 1 : -1;
    HC_CHECK((hi - lo) * step < static_cast<long long>(budget.max_names), "brace pattern '", pattern, "': range {",
             body, "} has more than ", budget.max_names, " values");
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

// Expands the groups of p from position `from` on (what lies before it is final text).
void expand_into(const std::string& p, size_t from, const std::string& pattern, std::vector<std::string>& out,
                 BraceBudget& budget) {
  for (;;) {
    size_t open = p.find('{', from);
    if (open == std::string::npos) {
      budget.add(pattern, p);
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
    std::vector<std::string> alts = brace_alternatives(p.substr(open + 1, close - open - 1), pattern, budget);
    if (alts.empty()) {
      from = close + 1;  // literal braces: kept as they are; go on after them
      continue;
    }
    // Expanding prefix + alternative + suffix from the group's position on handles nested groups
    // inside an alternative and later groups in the suffix alike.
    const std::string prefix = p.substr(0, open), suffix = p.substr(close + 1);
    for (const std::string& a : alts) expand_into(prefix + a + suffix, open, pattern, out, budget);
    return;
  }
}

}  // namespace

std::vector<std::string> expand_braces(const std::string& pattern, size_t max_names) {
  // A pattern is a path: a longer one is damage, and the recursion below is as deep as the
  // pattern has groups.
  HC_CHECK(pattern.size() <= kMaxBracePatternBytes, "brace pattern of ", pattern.size(), " bytes, more than the ",
           kMaxBracePatternBytes, " a path may have");
  std::vector<std::string> out;
  BraceBudget budget{max_names};
  expand_into(pattern, 0, pattern, out, budget);
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
