// The conditioning diagnostic (docs/hypernetwork.md): does the text change what the hypernetwork
// generates, and where inside the hypernetwork do the members of a set stop differing?
//
//   gen_rms            rms of the generated parameters (dγ, dβ) over a fixed sample of M training sets
//   train_spread       rms over the parameters of their deviation from the mean over those M sets
//   task_from_train    per evaluation task: rms distance of its generated parameters from that mean
//   task_pairwise      rms distance between the tasks' generated parameters, mean and max over pairs
//   random_*           the same for M sets of random unit vectors: how far any input moves them
// Every distance is also given relative to gen_rms. The trace gives, at each stage of the
// hypernetwork (HyperTrace), the rms of the values, the spread of a set's members around their set's
// mean ("within"), the spread of the set means around their mean ("across") and the rms of that
// overall mean ("common", the part no set changes).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "models/hyperclip.h"

namespace hc {

// rms, within-set, across-set and common spread of one stage's values ([S, m, D] or [S, D]).
struct StageSpread {
  std::string stage;
  double rms = 0, within = 0, across = 0, common = 0;
};
std::vector<StageSpread> trace_spread(const HyperTrace& trace);

struct ConditioningReport {
  int64_t sets = 0, set_size = 0;
  double gen_rms = 0, train_spread = 0;
  double random_spread = 0, random_from_train = 0;
  std::vector<std::pair<std::string, double>> task_from_train;
  std::vector<std::pair<std::string, std::string>> pair_names;
  std::vector<double> pairwise;  // rms distance between the two tasks of each pair
  double task_pairwise_mean = 0, task_pairwise_max = 0;
  int64_t task_pairs = 0;
  std::vector<StageSpread> trace;        // the trained hypernetwork on the training sets
  std::vector<StageSpread> trace_fresh;  // a freshly initialised one on the same inputs (if asked)
  nlohmann::json to_json() const;
  std::string summary() const;  // one line: the figures relative to gen_rms
  std::string trace_table() const;
};

// A fixed sample of M training sets of m captions, drawn once from the seed: with groups, the
// sets the group sampler deals first (one group each; data/set_sampler.h), else a random sample.
// Labelled data is captioned through the templates as in training.
class ConditioningProbe {
 public:
  ConditioningProbe(const Dataset& data, const std::vector<std::string>& templates, const SampleGroups* groups,
                    int64_t sets, int64_t set_size, uint64_t seed, const Tokenizer& tok, int64_t context);
  // tasks: each evaluation task's name and generated parameters [1, P] (ZeroShotResult::generated).
  // fresh_seed >= 0 adds the trace of a hypernetwork initialised from that seed.
  ConditioningReport measure(const HyperClip& model, const std::vector<std::pair<std::string, Tensor>>& tasks,
                             int64_t fresh_seed = -1) const;
  const std::vector<std::string>& captions() const { return captions_; }
  std::string describe() const { return describe_; }

 private:
  std::vector<std::string> captions_;  // [M*m], set after set
  Tensor tokens_, eot_;
  int64_t sets_ = 0, set_size_ = 0;
  uint64_t seed_ = 0;
  std::string describe_;
};

}  // namespace hc
