// Prompt templates for zero-shot classification (SPEC 1.6): "{}" stands for the class name.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace hc {

std::vector<std::string> cifar_templates();  // CLIP's 18 CIFAR templates
// One template per line (blank lines and lines starting with '#' skipped); each must contain "{}".
std::vector<std::string> load_templates(const std::string& path);
// One class name per line (blank lines skipped).
std::vector<std::string> load_class_names(const std::string& path);
std::string fill_template(const std::string& tmpl, const std::string& name);

// The templates that caption a labelled dataset used for training: the file when one is given,
// else the dataset's own (Dataset::templates()), else CIFAR's 18.
std::vector<std::string> training_templates(const std::string& file, const Dataset& data);

}  // namespace hc
