// `hyperclip reinforce`: the teachers, the views, the shards, progress and resumption
// (train/reinforce.h).
#include "train/reinforce.h"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/backend.h"
#include "core/grad_mode.h"
#include "core/hash.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "models/config_io.h"

namespace hc {

using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

static std::string format_duration(double s) {
  int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(t / 3600), (long long)(t / 60 % 60));
  else std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(t / 60), (long long)(t % 60));
  return buf;
}

std::vector<AugmentParams> reinforce_augmentations(int width, int height, Augment kind, double crop_scale_min,
                                                   int64_t count, uint64_t seed, size_t sample) {
  Generator g(mix_seed(seed, 0x4E1F0, sample));
  std::vector<AugmentParams> out;
  for (int64_t r = 0; r < count; ++r) out.push_back(draw_augment(width, height, kind, crop_scale_min, g));
  return out;
}

// ---- teachers -------------------------------------------------------------------------------------

static std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  HC_CHECK(in, path, ": cannot open");
  Fnv1a64 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.add(buf.data(), static_cast<size_t>(in.gcount()));
  }
  return h.hex();
}

// How many captions a hyper-mode teacher's sets held in its training: --set-size, else its batch.
static int64_t training_set_size(const Checkpoint& c) {
  if (c.config.set_size > 0) return c.config.set_size;
  try {
    int64_t b = nlohmann::json::parse(c.state.args_json).value("batch", int64_t{0});
    if (b > 0) return b;
  } catch (const std::exception&) {
  }
  return 128;
}

ReinforceTeacher::ReinforceTeacher(const std::string& checkpoint, const std::string& teacher_set,
                                   const std::vector<std::string>& captions, uint64_t seed, Device device)
    : loaded_(load_model(checkpoint, device)), device_(device) {
  const HyperClip& model = *loaded_.model;
  const ModelConfig& cfg = loaded_.info.config;
  record_.checkpoint = checkpoint;
  record_.file_hash = file_hash(checkpoint);
  record_.config_json = config_to_json(cfg);
  record_.step = loaded_.info.state.step;
  record_.embed = cfg.embed;
  record_.image_size = cfg.image.image_size;
  record_.mode = mode_name(cfg.mode);
  NoGradGuard no_grad;
  if (cfg.mode == Mode::Baseline) {
    record_.hyper_set = "none";
  } else if (cfg.mode == Mode::Token) {
    record_.hyper_set = "tokens";
    hyper_ = model.generate(Tensor(), 0);
  } else if (teacher_set == "none") {
    record_.hyper_set = "none";
  } else {
    int64_t k = 0;
    if (teacher_set == "captions") {
      k = training_set_size(loaded_.info);
    } else {
      HC_CHECK(teacher_set.rfind("captions:", 0) == 0, "--teacher-set expects captions, captions:K or none, got '",
               teacher_set, "'");
      try {
        k = std::stoll(teacher_set.substr(9));
      } catch (const std::exception&) {
        k = 0;
      }
      HC_CHECK(k > 0, "--teacher-set ", teacher_set, ": K must be a positive number");
    }
    // K distinct captions of the table, drawn by the seed (a partial Fisher-Yates shuffle).
    k = std::min<int64_t>(k, static_cast<int64_t>(captions.size()));
    std::vector<size_t> ids(captions.size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = i;
    Generator g(mix_seed(seed, 0x5E7, 0));
    std::vector<std::string> set;
    for (int64_t i = 0; i < k; ++i) {
      size_t j = i + static_cast<size_t>(g.next_u64() % (ids.size() - i));
      std::swap(ids[i], ids[j]);
      set.push_back(captions[ids[i]]);
    }
    hyper_ = model.generate(embed_texts(set).to(device_), 0);
    record_.hyper_set = cat("captions:", k);
  }
}

Tensor ReinforceTeacher::embed_images(const Tensor& images) const {
  NoGradGuard no_grad;
  return loaded_.model->encode_image(images.to(device_), hyper_).to(Device::CPU);
}

Tensor ReinforceTeacher::embed_texts(const std::vector<std::string>& texts) const {
  NoGradGuard no_grad;
  Tensor tokens, eot;
  tokenize_batch(loaded_.info.tokenizer, texts, loaded_.info.config.text.context, tokens, eot);
  return loaded_.model->encode_text(tokens.to(device_), eot.to(device_)).to(Device::CPU);
}

// ---- the job --------------------------------------------------------------------------------------

namespace {

// The views of a run of samples, ready for the teachers.
struct Chunk {
  int64_t first = 0, count = 0;
  std::vector<AugmentParams> augment;  // [count * R]
  std::map<int64_t, Tensor> views;     // image size -> [count * R, 3, S, S]
};

class Reinforcer {
 public:
  explicit Reinforcer(const ReinforceOptions& opt) : opt_(opt) {}

  int run() {
    check_options();
    open_data();
    load_teachers();
    if (!prepare_folder()) return 0;
    write_texts();
    return write_images();
  }

 private:
  void check_options() {
    HC_CHECK(!opt_.teachers.empty(), "give at least one --teacher CKPT");
    HC_CHECK(!opt_.data.empty(), "--data is required");
    HC_CHECK(!opt_.out_dir.empty(), "-o DIR is required");
    HC_CHECK(opt_.augmentations >= 1 && opt_.augmentations <= kMaxAugmentations, "--augmentations must be in [1, ",
             kMaxAugmentations, "], got ", opt_.augmentations);
    HC_CHECK(opt_.shard_size >= 1 && opt_.shard_size <= (1 << 24), "--shard-size must be in [1, 2^24]");
    HC_CHECK(opt_.batch >= 1, "--batch must be positive");
    HC_CHECK(opt_.crop_scale_min > 0 && opt_.crop_scale_min <= 1, "--crop-scale-min must be in (0, 1]");
    device_ = parse_device(opt_.device);
    if (opt_.threads > 0) omp_set_num_threads(opt_.threads);
    std::error_code ec;
    std::filesystem::create_directories(opt_.out_dir, ec);
    HC_CHECK(std::filesystem::is_directory(opt_.out_dir), opt_.out_dir, ": cannot create the output folder");
  }

  void open_data() {
    DatasetOptions d;
    d.split = "train";
    d.class_names_file = opt_.classes_file;
    d.seed = opt_.seed;
    d.synthetic_train_size = static_cast<size_t>(opt_.synthetic_size);
    base_ = open_dataset(opt_.data, d);
    templates_ = base_->labelled() ? training_templates(opt_.templates_file, *base_) : std::vector<std::string>();
    auto t0 = Clock::now();
    samples_ = reinforced_samples(*base_, templates_);
    std::fprintf(stderr, "base data: %s -> %zu samples, %zu distinct captions (%.1fs)\n", base_->describe().c_str(),
                 samples_.size(), samples_.captions.size(), seconds_since(t0));
  }

  void load_teachers() {
    for (const std::string& path : opt_.teachers) {
      teachers_.push_back(std::make_unique<ReinforceTeacher>(path, opt_.teacher_set, samples_.captions, opt_.seed, device_));
      const ReinforcedTeacher& r = teachers_.back()->record();
      std::fprintf(stderr, "teacher %zu: %s (%s, step %lld, E %lld, %lld px, hypernetwork set: %s)\n",
                   teachers_.size() - 1, path.c_str(), r.mode.c_str(), (long long)r.step, (long long)r.embed,
                   (long long)r.image_size, r.hyper_set.c_str());
    }
  }

  ReinforcedIndex planned_index() const {
    ReinforcedIndex x;
    x.base_data = opt_.data;
    x.base_describe = base_->describe();
    x.identity = base_identity(*base_, templates_);
    x.base_rows = static_cast<int64_t>(base_->size());
    x.labelled = base_->labelled();
    x.templates = templates_;
    x.samples = static_cast<int64_t>(samples_.size());
    x.captions = static_cast<int64_t>(samples_.captions.size());
    x.augment = opt_.augment == Augment::None ? "none" : opt_.augment == Augment::Crop ? "crop" : "crop-flip";
    x.crop_scale_min = opt_.crop_scale_min;
    x.augmentations = opt_.augmentations;
    x.seed = opt_.seed;
    for (const auto& t : teachers_) {
      x.teachers.push_back(t->record());
      x.dim += t->embed();
    }
    x.shard_size = opt_.shard_size;
    x.image_shards = plan_shards("images", x.samples, x.shard_size);
    x.text_shards = plan_shards("texts", x.captions, x.shard_size);
    return x;
  }

  // What differs between a folder's index and this run's, for resumption ("" when nothing).
  static std::string differences(const ReinforcedIndex& a, const ReinforcedIndex& b) {
    std::string d;
    auto note = [&](bool differ, const std::string& what) {
      if (differ) d += (d.empty() ? "" : "; ") + what;
    };
    note(a.identity != b.identity || a.base_rows != b.base_rows, "base dataset (" + a.base_describe + " vs " + b.base_describe + ")");
    note(a.samples != b.samples || a.captions != b.captions, "samples or captions");
    note(a.augment != b.augment || a.crop_scale_min != b.crop_scale_min, "augmentation");
    note(a.augmentations != b.augmentations, cat("--augmentations (", a.augmentations, " vs ", b.augmentations, ")"));
    note(a.seed != b.seed, cat("--seed (", a.seed, " vs ", b.seed, ")"));
    note(a.shard_size != b.shard_size, cat("--shard-size (", a.shard_size, " vs ", b.shard_size, ")"));
    bool teachers_differ = a.teachers.size() != b.teachers.size();
    for (size_t i = 0; !teachers_differ && i < a.teachers.size(); ++i)
      teachers_differ = a.teachers[i].file_hash != b.teachers[i].file_hash || a.teachers[i].hyper_set != b.teachers[i].hyper_set;
    note(teachers_differ, "teachers (checkpoint files, order or --teacher-set)");
    return d;
  }

  // The index of this run, continuing a folder that holds an interrupted run of the same job.
  // False when the folder already holds it complete.
  bool prepare_folder() {
    index_ = planned_index();
    const std::string dir = opt_.out_dir;
    if (std::filesystem::exists(dir + "/index.json")) {
      ReinforcedIndex old = read_reinforced_index(dir);
      std::string diff = differences(old, index_);
      HC_CHECK(diff.empty(), dir, ": holds a reinforced dataset of another job (differs in: ", diff,
               "); remove it or write to another folder");
      if (old.complete) {
        std::fprintf(stderr, "%s: already complete (%lld samples x %lld views, %zu teachers)\n", dir.c_str(),
                     (long long)old.samples, (long long)old.augmentations, old.teachers.size());
        return false;
      }
      std::fprintf(stderr, "%s: resuming an interrupted run\n", dir.c_str());
    }
    write_reinforced_samples(dir, samples_);
    write_reinforced_index(dir, index_);
    return true;
  }

  // A shard already on disk and intact is kept (resumption); a damaged one is rewritten.
  template <class ReadFn>
  bool shard_done(const ReinforcedShard& s, ReadFn read) {
    if (!std::filesystem::exists(opt_.out_dir + "/" + s.file)) return false;
    try {
      read();
      return true;
    } catch (const Error& e) {
      std::fprintf(stderr, "rewriting %s: %s\n", s.file.c_str(), e.what());
      return false;
    }
  }

  void write_texts() {
    auto t0 = Clock::now();
    int64_t done = 0;
    for (const ReinforcedShard& s : index_.text_shards) {
      if (shard_done(s, [&] { read_text_shard(opt_.out_dir, index_, s); })) continue;
      std::vector<float> text(static_cast<size_t>(s.count * index_.dim));
      for (int64_t at = 0; at < s.count; at += 256) {
        int64_t n = std::min<int64_t>(256, s.count - at);
        std::vector<std::string> chunk(samples_.captions.begin() + s.first + at,
                                       samples_.captions.begin() + s.first + at + n);
        int64_t col = 0;
        for (const auto& t : teachers_) {
          Tensor e = t->embed_texts(chunk);  // [n, E_k]
          const float* p = e.data<float>();
          for (int64_t i = 0; i < n; ++i)
            std::copy(p + i * t->embed(), p + (i + 1) * t->embed(), &text[static_cast<size_t>((at + i) * index_.dim + col)]);
          col += t->embed();
        }
      }
      write_text_shard(opt_.out_dir, index_, s, text);
      done += s.count;
    }
    text_seconds_ = seconds_since(t0);
    if (done) std::fprintf(stderr, "text: %lld captions embedded by %zu teachers (%.1fs)\n", (long long)done,
                           teachers_.size(), text_seconds_);
  }

  // Decodes samples [first, first + count) on `workers` threads and cuts their views.
  Chunk prepare(int64_t first, int64_t count) const {
    Chunk c;
    c.first = first;
    c.count = count;
    const int64_t R = index_.augmentations;
    c.augment.resize(static_cast<size_t>(count * R));
    std::map<int64_t, std::vector<Image>> views;
    for (const auto& t : teachers_) views[t->image_size()].resize(static_cast<size_t>(count * R));
    std::vector<std::string> errors(static_cast<size_t>(std::max(1, opt_.workers)));
    auto work = [&](int w) {
      try {
        for (int64_t i = w; i < count; i += static_cast<int64_t>(errors.size())) {
          size_t sample = static_cast<size_t>(first + i);
          Sample s = base_->get(samples_.base_row[sample]);
          HC_CHECK(s.source == samples_.source[sample], opt_.out_dir, "/samples.json: sample ", sample, " is ",
                   samples_.source[sample], " but the data gives ", s.source);
          std::vector<AugmentParams> a = reinforce_augmentations(s.image.width, s.image.height, opt_.augment,
                                                                 opt_.crop_scale_min, R, opt_.seed, sample);
          for (int64_t r = 0; r < R; ++r) {
            c.augment[static_cast<size_t>(i * R + r)] = a[r];
            for (auto& [size, v] : views) v[static_cast<size_t>(i * R + r)] = apply_augment(s.image, a[r], static_cast<int>(size), s.source);
          }
        }
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    };
    std::vector<std::thread> threads;
    for (size_t w = 1; w < errors.size(); ++w) threads.emplace_back(work, static_cast<int>(w));
    work(0);
    for (auto& t : threads) t.join();
    for (const std::string& e : errors) HC_CHECK(e.empty(), e);
    for (auto& [size, v] : views) c.views[size] = images_to_tensor(v);
    return c;
  }

  int write_images() {
    const int64_t R = index_.augmentations, D = index_.dim, N = index_.samples;
    // Samples still to do, for the progress line.
    std::vector<const ReinforcedShard*> todo;
    for (const ReinforcedShard& s : index_.image_shards)
      if (!shard_done(s, [&] { read_image_shard(opt_.out_dir, index_, s); })) todo.push_back(&s);
    int64_t remaining = 0;
    for (const ReinforcedShard* s : todo) remaining += s->count;
    std::fprintf(stderr, "images: %lld of %lld samples to do (%zu shards), %lld views each, %zu teachers\n",
                 (long long)remaining, (long long)N, todo.size(), (long long)R, teachers_.size());
    auto t0 = Clock::now();
    auto last_print = t0;
    int64_t done = 0, written = 0;
    double forward_seconds = 0;
    for (const ReinforcedShard* s : todo) {
      if (opt_.max_shards > 0 && written == opt_.max_shards) {
        std::fprintf(stderr, "stopped after %lld shards (--max-shards); run the same command again to continue\n",
                     (long long)written);
        report(done, seconds_since(t0), forward_seconds, false);
        return 0;
      }
      ReinforcedImageShard shard;
      shard.augment.resize(static_cast<size_t>(s->count * R));
      shard.image.resize(static_cast<size_t>(s->count * R * D));
      // The next chunk's decoding overlaps this chunk's forward passes.
      auto launch = [&](int64_t at) {
        return std::async(std::launch::async, [this, s, at] { return prepare(s->first + at, std::min(opt_.batch, s->count - at)); });
      };
      std::future<Chunk> next = launch(0);
      for (int64_t at = 0; at < s->count; at += opt_.batch) {
        Chunk c = next.get();
        if (at + opt_.batch < s->count) next = launch(at + opt_.batch);
        auto tf = Clock::now();
        int64_t col = 0;
        for (const auto& t : teachers_) {
          Tensor v = t->embed_images(c.views.at(t->image_size()));  // [count * R, E_k]
          const float* p = v.data<float>();
          for (int64_t row = 0; row < c.count * R; ++row)
            std::copy(p + row * t->embed(), p + (row + 1) * t->embed(),
                      &shard.image[static_cast<size_t>(((at * R) + row) * D + col)]);
          col += t->embed();
        }
        forward_seconds += seconds_since(tf);
        std::copy(c.augment.begin(), c.augment.end(), shard.augment.begin() + at * R);
        done += c.count;
        if (seconds_since(last_print) >= 5 || done == remaining) {
          last_print = Clock::now();
          double elapsed = seconds_since(t0);
          std::fprintf(stderr, "images: %lld/%lld samples  %.1f img/s  %.2f ms per view per teacher  elapsed %s  ETA %s\n",
                       (long long)done, (long long)remaining, done / elapsed,
                       1e3 * forward_seconds / (done * R * static_cast<double>(teachers_.size())),
                       format_duration(elapsed).c_str(), format_duration(elapsed / done * (remaining - done)).c_str());
        }
      }
      write_image_shard(opt_.out_dir, index_, *s, shard);
      ++written;
    }
    index_.complete = true;
    write_reinforced_index(opt_.out_dir, index_);
    report(done, seconds_since(t0), forward_seconds, true);
    return 0;
  }

  // One JSON line on stdout with the wall times, for scripts (bench-reinforced).
  void report(int64_t samples, double image_seconds, double forward_seconds, bool complete) const {
    const int64_t R = index_.augmentations;
    const double teachers = static_cast<double>(teachers_.size());
    nlohmann::json j = {{"complete", complete}, {"samples", samples}, {"augmentations", R},
                        {"teachers", teachers_.size()}, {"captions", index_.captions},
                        {"text_seconds", text_seconds_}, {"image_seconds", image_seconds},
                        {"forward_seconds", forward_seconds},
                        {"seconds_per_image", samples ? image_seconds / samples : 0.0},
                        {"seconds_per_view_per_teacher", samples ? forward_seconds / (samples * R * teachers) : 0.0},
                        {"threads", omp_get_max_threads()}, {"workers", opt_.workers}};
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    if (complete)
      std::fprintf(stderr, "done: %s (%lld samples x %lld views x %zu teachers in %s)\n", opt_.out_dir.c_str(),
                   (long long)samples, (long long)R, teachers_.size(), format_duration(image_seconds).c_str());
  }

  const ReinforceOptions opt_;
  Device device_ = Device::CPU;
  std::unique_ptr<Dataset> base_;
  std::vector<std::string> templates_;
  ReinforcedSamples samples_;
  std::vector<std::unique_ptr<ReinforceTeacher>> teachers_;
  ReinforcedIndex index_;
  double text_seconds_ = 0;
};

}  // namespace

int run_reinforce(const ReinforceOptions& opt) { return Reinforcer(opt).run(); }

}  // namespace hc
