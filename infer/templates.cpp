#include "infer/templates.h"

#include <sstream>
#include <fstream>

#include "core/error.h"
#include "data/file_read.h"

namespace hc {

std::vector<std::string> cifar_templates() {
  return {"a photo of a {}.",          "a blurry photo of a {}.",       "a black and white photo of a {}.",
          "a low contrast photo of a {}.", "a high contrast photo of a {}.", "a bad photo of a {}.",
          "a good photo of a {}.",     "a photo of a small {}.",        "a photo of a big {}.",
          "a photo of the {}.",        "a blurry photo of the {}.",     "a black and white photo of the {}.",
          "a low contrast photo of the {}.", "a high contrast photo of the {}.", "a bad photo of the {}.",
          "a good photo of the {}.",   "a photo of the small {}.",      "a photo of the big {}."};
}

static std::vector<std::string> read_lines(const std::string& path, const char* what) {
  std::istringstream in(read_file_text(path, what));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    out.push_back(line.substr(start));
  }
  HC_CHECK(!out.empty(), path, ": no ", what, " in the file");
  return out;
}

std::vector<std::string> load_templates(const std::string& path) {
  std::vector<std::string> t = read_lines(path, "templates");
  for (size_t i = 0; i < t.size(); ++i)
    HC_CHECK(t[i].find("{}") != std::string::npos, path, ": template '", t[i], "' has no {} for the class name");
  return t;
}

std::vector<std::string> load_class_names(const std::string& path) { return read_lines(path, "class names"); }

std::string fill_template(const std::string& tmpl, const std::string& name) {
  size_t at = tmpl.find("{}");
  return at == std::string::npos ? tmpl + " " + name : tmpl.substr(0, at) + name + tmpl.substr(at + 2);
}

std::vector<std::string> training_templates(const std::string& file, const Dataset& data) {
  if (!file.empty()) return load_templates(file);
  std::vector<std::string> t = data.templates();
  return t.empty() ? cifar_templates() : t;
}

}  // namespace hc
