// Placeholder until the synthetic dataset (data/synthetic.cpp) is merged: lets the data layer link
// on its own. The lead removes this file at merge.
#include "core/error.h"
#include "data/synthetic.h"

namespace hc {

std::vector<std::string> synthetic_tasks() {
  throw Error("the synthetic dataset is not built yet");
}

std::unique_ptr<Dataset> make_synthetic_dataset(const std::string&, const std::string&,
                                                const SyntheticOptions&) {
  throw Error("the synthetic dataset is not built yet");
}

}  // namespace hc
