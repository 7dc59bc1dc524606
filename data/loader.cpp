#include "data/loader.h"

#include <algorithm>

namespace hc {

Augment parse_augment(const std::string& s) {
  if (s == "none") return Augment::None;
  if (s == "crop") return Augment::Crop;
  if (s == "crop-flip") return Augment::CropFlip;
  throw Error("unknown augmentation '" + s + "' (expected none, crop or crop-flip)");
}

AugmentParams draw_augment(int width, int height, Augment kind, double crop_scale_min, Generator& g) {
  AugmentParams a;
  if (kind == Augment::None) {
    int side = std::min(width, height);
    a.box = {(width - side) / 2, (height - side) / 2, side, side};
    return a;
  }
  a.box = random_resized_crop_box(width, height, g, crop_scale_min, 1.0);
  a.flip = kind == Augment::CropFlip && g.uniform() < 0.5;
  return a;
}

uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  for (uint64_t v : {a, b, c}) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  return h;
}

Loader::Loader(const Dataset& data, const LoaderOptions& opt) : data_(data), opt_(opt) {
  HC_CHECK(opt.batch > 0, "loader: batch size must be positive");
  HC_CHECK(data.size() > 0, "loader: ", data.describe(), " is empty");
  HC_CHECK(!opt.drop_last || static_cast<int64_t>(data.size()) >= opt.batch, "loader: ",
           data.describe(), " holds fewer samples than one batch of ", opt.batch);
  HC_CHECK(opt.set_size >= 0 && (opt.set_size == 0 || opt.batch % opt.set_size == 0), "loader: batch ", opt.batch,
           " is not a multiple of the set size ", opt.set_size);
  HC_CHECK(opt.ranks >= 1 && opt.rank >= 0 && opt.rank < opt.ranks, "loader: rank ", opt.rank, " of ", opt.ranks);
  HC_CHECK(opt.batch % opt.ranks == 0, "loader: global batch ", opt.batch, " is not divisible by ", opt.ranks,
           " processes");
  HC_CHECK(opt.set_size == 0 || (opt.batch / opt.ranks) % opt.set_size == 0, "loader: each process's slice of ",
           opt.batch / opt.ranks, " is not a multiple of the set size ", opt.set_size);
}

void Loader::batch_range(int64_t b, int64_t& lo, int64_t& hi) const {
  int64_t end = static_cast<int64_t>(order_.size()), slice = opt_.batch / opt_.ranks;
  lo = std::min(b * opt_.batch + opt_.rank * slice, end);
  hi = std::min(lo + slice, end);
}

Loader::~Loader() { stop_workers(); }

int64_t Loader::batches_per_epoch() const {
  if (opt_.group_sets) return opt_.group_sets->batches_per_epoch();
  int64_t n = static_cast<int64_t>(data_.size());
  return opt_.drop_last ? n / opt_.batch : (n + opt_.batch - 1) / opt_.batch;
}

std::vector<size_t> Loader::epoch_order(int64_t epoch) const {
  if (opt_.group_sets) return opt_.group_sets->epoch_order(epoch);
  std::vector<size_t> order(data_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (opt_.shuffle) {
    Generator g(mix_seed(opt_.seed, 0x5EED, static_cast<uint64_t>(epoch)));
    for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates with our own generator
      size_t j = static_cast<size_t>(g.next_u64() % i);
      std::swap(order[i - 1], order[j]);
    }
  }
  return order;
}

Batch Loader::make_batch(int64_t epoch, int64_t b) const {
  Batch out;
  std::vector<Image> images;
  int64_t lo, hi;
  batch_range(b, lo, hi);
  std::vector<int64_t> kept;       // position in the batch of each sample kept
  std::vector<char> broken_sets;   // with sets: the sets that lost a sample
  if (opt_.set_size > 0) broken_sets.assign(static_cast<size_t>((hi - lo + opt_.set_size - 1) / opt_.set_size), 0);
  for (int64_t k = lo; k < hi; ++k) {
    size_t idx = order_[k];
    // Every random choice for this sample comes from its own stream: reproducible whatever the
    // thread that decodes it.
    Generator g(mix_seed(opt_.seed, static_cast<uint64_t>(epoch), idx));
    Sample s;
    try {
      s = data_.get(idx);
    } catch (const Error& e) {
      if (!opt_.skip_corrupt) throw;
      ++out.skipped;
      out.skipped_sources.push_back(e.what());
      if (opt_.set_size > 0) {
        broken_sets[(k - lo) / opt_.set_size] = 1;
        out.skipped_sources.back() += cat(" (the rest of its set of ", opt_.set_size, " is left out with it)");
      }
      continue;
    }
    kept.push_back(k - lo);
    Image img;
    if (opt_.replay) {
      img = apply_augment(s.image, opt_.replay(epoch, idx), opt_.image_size, s.source);
    } else if (opt_.augment == Augment::None) {
      img = (s.image.width == opt_.image_size && s.image.height == opt_.image_size)
                ? std::move(s.image)
                : resize_center_crop(s.image, opt_.image_size);
    } else {
      AugmentParams a = draw_augment(s.image.width, s.image.height, opt_.augment, opt_.crop_scale_min, g);
      img = apply_augment(s.image, a, opt_.image_size, s.source);
    }
    images.push_back(std::move(img));
    std::string caption = s.caption;
    // Labelled data used for training gets a caption from its class name (evaluation passes no
    // templates and needs none).
    if (caption.empty() && s.label >= 0 && !opt_.caption_templates.empty()) {
      const auto& names = data_.class_names();
      const std::string& t = opt_.caption_templates[g.next_u64() % opt_.caption_templates.size()];
      size_t at = t.find("{}");
      caption = at == std::string::npos ? t + " " + names.at(s.label)
                                        : t.substr(0, at) + names.at(s.label) + t.substr(at + 2);
    }
    out.captions.push_back(caption);
    out.labels.push_back(s.label);
    out.sources.push_back(s.source);
    out.indices.push_back(idx);
  }
  if (out.skipped > 0 && opt_.set_size > 0) drop_broken_sets(out, images, kept, broken_sets);
  if (!images.empty()) out.images = images_to_tensor(images);
  return out;
}

// Keeps only the samples of sets that lost no sample, so that every set stays whole and in place.
void Loader::drop_broken_sets(Batch& out, std::vector<Image>& images, const std::vector<int64_t>& kept,
                              const std::vector<char>& broken_sets) const {
  size_t w = 0;
  for (size_t r = 0; r < kept.size(); ++r) {
    if (broken_sets[kept[r] / opt_.set_size]) continue;
    if (w == r) {  // nothing dropped before it: already in place (a self-move would empty it)
      ++w;
      continue;
    }
    images[w] = std::move(images[r]);
    out.captions[w] = std::move(out.captions[r]);
    out.labels[w] = out.labels[r];
    out.sources[w] = std::move(out.sources[r]);
    ++w;
  }
  images.resize(w);
  out.captions.resize(w);
  out.labels.resize(w);
  out.sources.resize(w);
}

void Loader::worker() {
  for (;;) {
    int64_t b, epoch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        return stopping_ || (next_to_make_ < end_ && next_to_make_ < next_to_return_ + opt_.prefetch);
      });
      if (stopping_) return;
      b = next_to_make_++;
      epoch = epoch_;
    }
    Batch batch;
    std::string err;
    try {
      batch = make_batch(epoch, b);
    } catch (const std::exception& e) {
      err = e.what();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!err.empty() && error_.empty()) error_ = err;
    ready_[b] = std::move(batch);
    cv_.notify_all();
  }
}

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  stopping_ = false;
}

void Loader::start(int64_t epoch, int64_t first) {
  stop_workers();
  order_ = epoch_order(epoch);
  epoch_ = epoch;
  next_to_make_ = next_to_return_ = first;
  end_ = batches_per_epoch();
  ready_.clear();
  error_.clear();
  for (int i = 0; i < std::max(1, opt_.workers); ++i) threads_.emplace_back([this] { worker(); });
}

bool Loader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_return_ >= end_) return false;
  cv_.wait(lock, [&] { return ready_.count(next_to_return_) > 0 || !error_.empty(); });
  if (!error_.empty()) throw Error(error_);
  out = std::move(ready_[next_to_return_]);
  ready_.erase(next_to_return_);
  ++next_to_return_;
  cv_.notify_all();
  return true;
}

}  // namespace hc
