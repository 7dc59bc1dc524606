// Prompt templates for zero-shot classification (SPEC 1.6): "{}" stands for the class name.
#pragma once
#include <string>
#include <vector>

namespace hc {

std::vector<std::string> cifar_templates();  // CLIP's 18 CIFAR templates
// One template per line (blank lines and lines starting with '#' skipped); each must contain "{}".
std::vector<std::string> load_templates(const std::string& path);
// One class name per line (blank lines skipped).
std::vector<std::string> load_class_names(const std::string& path);
std::string fill_template(const std::string& tmpl, const std::string& name);

}  // namespace hc
