// Zero-shot classification (SPEC 1.6): class embeddings from templates, the hypernetwork run
// once on the K class embeddings, then image logits 100·v·Wᵀ and top-1 / top-5 accuracy.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "models/hyperclip.h"

namespace hc {

// Tokens [n, T] and end-of-text positions [n] for a list of texts.
void tokenize_batch(const Tokenizer& tok, const std::vector<std::string>& texts, int64_t context,
                    Tensor& tokens, Tensor& eot);

// [K, E]: for each class, every template filled, encoded, L2-normalised, averaged, normalised.
Tensor class_embeddings(const HyperClip& model, const Tokenizer& tok,
                        const std::vector<std::string>& class_names,
                        const std::vector<std::string>& templates);

struct ZeroShotResult {
  double top1 = 0, top5 = 0;
  // Top-1 averaged over the classes that occur (each class's recall, then the mean): on an
  // imbalanced test set it is not inflated by the frequent classes.
  double mean_class_top1 = 0;
  // The share of the most frequent class: the top-1 of always answering it, which any useful
  // model must beat (on a balanced set it is 1/K).
  double majority = 0;
  int64_t n = 0;
  int64_t skipped = 0;  // corrupt images
  Tensor generated;     // [1, P] the hypernetwork's output for the task; undefined in baseline mode
};

// Counts the scores of one evaluation, sample by sample. A sample is right at top-k when fewer than
// k classes score strictly higher than its true class (ties count for the sample).
class ZeroShotTally {
 public:
  explicit ZeroShotTally(int64_t classes);
  void add(const double* logits, int label);  // logits [K]
  ZeroShotResult result() const;              // n, top1, top5, mean_class_top1, majority
  int64_t count() const { return n_; }        // samples added

 private:
  int64_t K_, n_ = 0, correct5_ = 0;
  std::vector<int64_t> seen_, right_;  // per class: samples, top-1 hits
};

struct ZeroShotOptions {
  int64_t batch = 256;
  int workers = 2;
  int64_t max_samples = 0;  // 0: the whole dataset
};

// The model is switched to evaluation mode for the pass and restored after.
ZeroShotResult zero_shot_eval(HyperClip& model, const Tokenizer& tok, const Dataset& data,
                              const std::vector<std::string>& class_names,
                              const std::vector<std::string>& templates, const ZeroShotOptions& opt);

// A classification task split into smaller tasks (eval --task-split): task t holds the classes k
// with of_class[k] == t, in the order of the task names.
struct TaskSplit {
  std::vector<std::string> names;
  std::vector<int32_t> of_class;  // [K]
};
// FILE: one line "class<TAB>task" per class (every class exactly once; blank lines skipped).
TaskSplit read_task_split(const std::string& file, const std::vector<std::string>& class_names);
// Tasks named by each class's group (Dataset::class_groups()), in order of first appearance.
TaskSplit task_split_from_groups(const std::vector<std::string>& class_groups);

struct SplitResult {
  std::vector<ZeroShotResult> tasks;  // by task; each with its own generated parameters
  // Unweighted means over the tasks that have images.
  double mean_top1 = 0, mean_top5 = 0, mean_mean_class_top1 = 0;
  int64_t n = 0;  // images over all tasks
};
// Each task scored as its own zero-shot task: the hypernetwork sees only the task's class
// embeddings and adapts the image tower for the task's images, which are ranked among the task's
// classes only. The baseline is scored on the same restricted tasks (its image embeddings do not
// depend on the task).
SplitResult zero_shot_eval_split(HyperClip& model, const Tokenizer& tok, const Dataset& data,
                                 const std::vector<std::string>& class_names,
                                 const std::vector<std::string>& templates, const TaskSplit& split,
                                 const ZeroShotOptions& opt);

}  // namespace hc
