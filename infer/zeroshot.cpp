#include "infer/zeroshot.h"

#include <algorithm>
#include <fstream>
#include <map>

#include "core/grad_mode.h"
#include "data/loader.h"
#include "infer/templates.h"

namespace hc {

void tokenize_batch(const Tokenizer& tok, const std::vector<std::string>& texts, int64_t context,
                    Tensor& tokens, Tensor& eot) {
  int64_t n = static_cast<int64_t>(texts.size());
  std::vector<int32_t> ids(n * context), pos(n);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int32_t> row = tok.encode_padded(texts[i], context, &pos[i]);
    std::copy(row.begin(), row.end(), ids.begin() + i * context);
  }
  tokens = Tensor::from_ints(ids, {n, context});
  eot = Tensor::from_ints(pos, {n});
}

Tensor class_embeddings(const HyperClip& model, const Tokenizer& tok,
                        const std::vector<std::string>& class_names,
                        const std::vector<std::string>& templates) {
  HC_CHECK(!class_names.empty() && !templates.empty(), "zero-shot: need class names and templates");
  NoGradGuard ng;
  // Classes are encoded in chunks of about 256 prompts: one text-tower call per class cost ~0.25 s
  // each on a busy 2-core machine (an 819-class task took minutes), one call per chunk does not.
  const size_t M = templates.size(), per_chunk = std::max<size_t>(1, 256 / M);
  std::vector<Tensor> rows;
  for (size_t k0 = 0; k0 < class_names.size(); k0 += per_chunk) {
    size_t k1 = std::min(class_names.size(), k0 + per_chunk);
    std::vector<std::string> texts;  // class-major: class k0's M prompts, then class k0+1's, ...
    for (size_t k = k0; k < k1; ++k)
      for (const std::string& t : templates) texts.push_back(fill_template(t, class_names[k]));
    Tensor tokens, eot;
    tokenize_batch(tok, texts, model.config().text.context, tokens, eot);
    Device device = model.logit_scale.device();  // where the model lives
    Tensor e = model.encode_text(tokens.to(device), eot.to(device));  // [(k1-k0)*M, E], each normalised
    rows.push_back(mean(reshape(e, {static_cast<int64_t>(k1 - k0), static_cast<int64_t>(M), -1}), {1}));  // [k1-k0, E]
  }
  return l2_normalize(concat(rows, 0));  // [K, E]
}

ZeroShotResult zero_shot_eval(HyperClip& model, const Tokenizer& tok, const Dataset& data,
                              const std::vector<std::string>& class_names,
                              const std::vector<std::string>& templates, const ZeroShotOptions& opt) {
  TaskSplit whole;  // one task of every class
  whole.names = {"all"};
  whole.of_class.assign(class_names.size(), 0);
  return zero_shot_eval_split(model, tok, data, class_names, templates, whole, opt).tasks.at(0);
}

SplitResult zero_shot_eval_split(HyperClip& model, const Tokenizer& tok, const Dataset& data,
                                 const std::vector<std::string>& class_names,
                                 const std::vector<std::string>& templates, const TaskSplit& split,
                                 const ZeroShotOptions& opt) {
  const int64_t K = static_cast<int64_t>(class_names.size()), T = static_cast<int64_t>(split.names.size());
  HC_CHECK(static_cast<int64_t>(split.of_class.size()) == K, "zero-shot: the task split covers ",
           split.of_class.size(), " classes, the task has ", K);
  bool was_training = model.is_training();
  model.eval();
  NoGradGuard ng;
  Tensor W = class_embeddings(model, tok, class_names, templates);  // [K, E]
  // Each task's classes, and each class's index within its task.
  std::vector<std::vector<int32_t>> members(T);
  std::vector<int64_t> local(K);
  for (int64_t k = 0; k < K; ++k) {
    int32_t t = split.of_class[k];
    HC_CHECK(t >= 0 && t < T, "zero-shot: class ", k, " in task ", t, " of ", T);
    local[k] = static_cast<int64_t>(members[t].size());
    members[t].push_back(static_cast<int32_t>(k));
  }
  // HyperCLIP: each task's set is its class embeddings, adapting the image tower once for the
  // task. One task of every class in order uses W itself (the plain zero-shot evaluation).
  std::vector<Tensor> generated(T);
  for (int64_t t = 0; t < T; ++t) {
    HC_CHECK(!members[t].empty(), "zero-shot: task '", split.names[t], "' has no classes");
    Tensor Wt = T == 1 ? W : embedding(W, Tensor::from_ints(members[t], {static_cast<int64_t>(members[t].size())}, W.device()));
    generated[t] = model.generate(Wt, 0);  // [1, P] or undefined (baseline)
  }
  Tensor hyper = generated[0];
  if (T > 1 && hyper.defined()) hyper = concat(generated, 0);  // [T, P]

  LoaderOptions lo;
  lo.batch = opt.max_samples > 0 ? std::min(opt.batch, opt.max_samples) : opt.batch;
  lo.image_size = static_cast<int>(model.config().image.image_size);
  lo.shuffle = false;
  lo.drop_last = false;
  lo.workers = opt.workers;
  Loader loader(data, lo);
  loader.start(0);
  int64_t skipped = 0, seen = 0;
  std::vector<ZeroShotTally> tallies;
  for (int64_t t = 0; t < T; ++t) tallies.emplace_back(static_cast<int64_t>(members[t].size()));
  std::vector<double> restricted;
  Batch b;
  while (loader.next(b)) {
    skipped += b.skipped;
    if (!b.images.defined()) continue;
    int64_t n = b.images.size(0);
    if (opt.max_samples > 0) n = std::min(n, opt.max_samples - seen);
    Tensor images = n == b.images.size(0) ? b.images : slice(b.images, 0, 0, n);
    std::vector<int32_t> task_of(n);
    for (int64_t i = 0; i < n; ++i) {
      int label = b.labels[i];
      HC_CHECK(label >= 0 && label < K, data.describe(), ": sample without a valid label for zero-shot evaluation");
      task_of[i] = split.of_class[label];
    }
    Tensor set_index;  // image i adapted by its task's parameters
    if (T > 1 && hyper.defined()) set_index = Tensor::from_ints(task_of, {n}, W.device());
    Tensor v = model.encode_image(images.to(W.device()), hyper, set_index);  // [n, E]
    std::vector<double> logits = matmul(v, W, false, true).to_vector();      // 100 v·Wᵀ: the scale does not change the ranking
    for (int64_t i = 0; i < n; ++i) {
      const std::vector<int32_t>& cls = members[task_of[i]];
      restricted.resize(cls.size());
      for (size_t j = 0; j < cls.size(); ++j) restricted[j] = logits[i * K + cls[j]];  // the task's classes only
      tallies[task_of[i]].add(restricted.data(), static_cast<int>(local[b.labels[i]]));
    }
    seen += n;
    if (opt.max_samples > 0 && seen >= opt.max_samples) break;
  }
  SplitResult out;
  int64_t with_images = 0;
  for (int64_t t = 0; t < T; ++t) {
    ZeroShotResult r = tallies[t].result();
    r.generated = generated[t];
    out.n += r.n;
    if (r.n > 0) {
      out.mean_top1 += r.top1;
      out.mean_top5 += r.top5;
      out.mean_mean_class_top1 += r.mean_class_top1;
      ++with_images;
    }
    out.tasks.push_back(r);
  }
  if (with_images > 0) {
    out.mean_top1 /= with_images;
    out.mean_top5 /= with_images;
    out.mean_mean_class_top1 /= with_images;
  }
  out.tasks[0].skipped = skipped;  // corrupt images are counted once, on the first task
  model.train(was_training);
  return out;
}

TaskSplit read_task_split(const std::string& file, const std::vector<std::string>& class_names) {
  std::ifstream in(file);
  HC_CHECK(in, file, ": cannot open the task-split file");
  std::map<std::string, size_t> index;
  for (size_t k = 0; k < class_names.size(); ++k) index.emplace(class_names[k], k);
  TaskSplit split;
  split.of_class.assign(class_names.size(), -1);
  std::map<std::string, int32_t> task_id;
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    size_t tab = line.find('\t');
    HC_CHECK(tab != std::string::npos && tab > 0 && tab + 1 < line.size(), file, ":", line_no,
             ": expected \"class<TAB>task\"");
    std::string cls = line.substr(0, tab), task = line.substr(tab + 1);
    auto it = index.find(cls);
    HC_CHECK(it != index.end(), file, ":", line_no, ": class '", cls, "' is not a class of the task");
    HC_CHECK(split.of_class[it->second] < 0, file, ":", line_no, ": class '", cls, "' is listed twice");
    auto [t, added] = task_id.emplace(task, static_cast<int32_t>(split.names.size()));
    if (added) split.names.push_back(task);
    split.of_class[it->second] = t->second;
  }
  for (size_t k = 0; k < class_names.size(); ++k)
    HC_CHECK(split.of_class[k] >= 0, file, ": class '", class_names[k], "' is in no task (every class needs one)");
  return split;
}

TaskSplit task_split_from_groups(const std::vector<std::string>& class_groups) {
  TaskSplit split;
  std::map<std::string, int32_t> task_id;
  for (const std::string& g : class_groups) {
    auto [t, added] = task_id.emplace(g, static_cast<int32_t>(split.names.size()));
    if (added) split.names.push_back(g);
    split.of_class.push_back(t->second);
  }
  return split;
}

ZeroShotTally::ZeroShotTally(int64_t classes) : K_(classes), seen_(classes, 0), right_(classes, 0) {}

void ZeroShotTally::add(const double* logits, int label) {
  HC_CHECK(label >= 0 && label < K_, "zero-shot: label ", label, " outside 0..", K_ - 1);
  double mine = logits[label];
  int64_t above = 0;  // classes scored strictly higher than the true one
  for (int64_t k = 0; k < K_; ++k) above += logits[k] > mine;
  ++n_;
  correct5_ += above < 5;
  ++seen_[label];
  right_[label] += above == 0;
}

ZeroShotResult ZeroShotTally::result() const {
  ZeroShotResult r;
  r.n = n_;
  if (n_ == 0) return r;
  r.top5 = static_cast<double>(correct5_) / n_;
  double recall = 0;
  int64_t present = 0, most = 0;
  for (int64_t k = 0; k < K_; ++k) {
    if (seen_[k] == 0) continue;
    recall += static_cast<double>(right_[k]) / seen_[k];
    r.top1 += static_cast<double>(right_[k]) / n_;
    ++present;
    most = std::max(most, seen_[k]);
  }
  r.mean_class_top1 = recall / present;
  r.majority = static_cast<double>(most) / n_;
  return r;
}

}  // namespace hc
