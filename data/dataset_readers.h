// Internal to the data layer: the readers behind open_dataset() that live in their own files, and
// small helpers they share. Not part of the public interface (data/dataset.h is).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/file_read.h"

namespace hc::detail {

// wds:PATTERN (data/wds.cpp).
std::unique_ptr<Dataset> open_wds_dataset(const std::string& pattern);
// cifar10:DIR and cifar100:DIR (data/cifar.cpp).
std::unique_ptr<Dataset> open_cifar_dataset(const std::string& dir, bool cifar100,
                                            const DatasetOptions& opt);
// idx:IMAGES,LABELS[,CLASSNAMES] (data/idx.cpp).
std::unique_ptr<Dataset> open_idx_dataset(const std::string& arg, const DatasetOptions& opt);

// One class name per non-empty line, trailing whitespace (and CR) trimmed. Errors name the file.
std::vector<std::string> read_class_names(const std::string& path);
// Trailing spaces, tabs, CR and LF removed.
std::string trim_right(const std::string& s);

}  // namespace hc::detail
