#include "infer/zeroshot.h"

#include <algorithm>

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
  bool was_training = model.is_training();
  model.eval();
  NoGradGuard ng;
  Tensor W = class_embeddings(model, tok, class_names, templates);  // [K, E]
  // HyperCLIP: the set is the K class embeddings, adapting the image tower once for the task.
  Tensor hyper = model.generate(W, 0);
  int64_t K = W.size(0);

  LoaderOptions lo;
  lo.batch = opt.max_samples > 0 ? std::min(opt.batch, opt.max_samples) : opt.batch;
  lo.image_size = static_cast<int>(model.config().image.image_size);
  lo.shuffle = false;
  lo.drop_last = false;
  lo.workers = opt.workers;
  Loader loader(data, lo);
  loader.start(0);
  int64_t skipped = 0;
  ZeroShotTally tally(K);
  Batch b;
  while (loader.next(b)) {
    skipped += b.skipped;
    if (!b.images.defined()) continue;
    int64_t n = b.images.size(0);
    if (opt.max_samples > 0) n = std::min(n, opt.max_samples - tally.count());
    Tensor images = n == b.images.size(0) ? b.images : slice(b.images, 0, 0, n);
    Tensor v = model.encode_image(images.to(W.device()), hyper);       // [n, E]
    std::vector<double> logits = matmul(v, W, false, true).to_vector();  // 100 v·Wᵀ: the scale does not change the ranking
    for (int64_t i = 0; i < n; ++i) {
      int label = b.labels[i];
      HC_CHECK(label >= 0 && label < K, data.describe(), ": sample without a valid label for zero-shot evaluation");
      tally.add(&logits[i * K], label);
    }
    if (opt.max_samples > 0 && tally.count() >= opt.max_samples) break;
  }
  ZeroShotResult r = tally.result();
  r.skipped = skipped;
  model.train(was_training);
  return r;
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
