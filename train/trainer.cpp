#include "train/trainer.h"

#include "models/config_check.h"

#include <omp.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "comm/world.h"
#include "core/backend.h"
#include "data/reinforced.h"
#include "data/synthetic.h"
#include "data/tokenizer.h"
#include "infer/conditioning.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "models/config_check.h"
#include "models/config_io.h"
#include "models/hyperclip.h"
#include "train/checkpoint.h"
#include "train/reinforced_step.h"
#include "train/data_parallel.h"
#include "train/step.h"

namespace hc {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> expand_eval_specs(const std::string& spec) {
  if (spec == "synthetic") {
    std::vector<std::string> out;
    for (const std::string& t : synthetic_tasks()) out.push_back("synthetic:" + t);
    return out;
  }
  return {spec};
}

static std::string format_duration(double s) {
  int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(t / 3600), (long long)(t / 60 % 60));
  else std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(t / 60), (long long)(t % 60));
  return buf;
}

static json options_json(const TrainOptions& o) {
  return {{"image", o.image}, {"text", o.text}, {"hyper", o.hyper}, {"mode", o.mode}, {"embed", o.embed},
          {"image_size", o.image_size}, {"context", o.context}, {"set_size", o.set_size}, {"generated", o.generated},
          {"data", o.data}, {"eval_data", o.eval_data}, {"steps", o.steps}, {"epochs", o.epochs}, {"batch", o.batch}, {"warmup", o.warmup}, {"lr", o.lr}, {"hyper_lr_scale", o.hyper_lr_scale},
          {"wd", o.wd}, {"clip", o.clip}, {"seed", o.seed}, {"threads", o.threads}, {"vocab", o.vocab},
          {"synthetic_size", o.synthetic_size}, {"set_sampling", o.set_sampling}, {"group_column", o.group_column},
          {"hyper_input", o.hyper_input}, {"hyper_input_scale", o.hyper_input_scale},
          {"set_loss", o.set_loss}, {"diag_sets", o.diag_sets},
          {"reinforced", o.reinforced}, {"distill_weight", o.distill_weight}, {"extra_captions", o.extra_captions},
          {"siglip_dist", o.siglip_dist}, {"hyper_set", o.hyper_set}, {"sync_bn", o.sync_bn}};
}

// One evaluation set: the dataset with its class names and templates.
struct EvalSet {
  std::string name;
  std::unique_ptr<Dataset> data;
  std::vector<std::string> classes, templates;
};

static DatasetOptions dataset_options(const TrainOptions& o, const std::string& split) {
  DatasetOptions d;
  d.split = split;
  d.class_names_file = o.classes_file;
  d.seed = o.seed;
  d.synthetic_train_size = static_cast<size_t>(o.synthetic_size);
  return d;
}

static std::vector<std::string> templates_for(const TrainOptions& o, const Dataset& d) {
  if (!o.templates_file.empty()) return load_templates(o.templates_file);
  std::vector<std::string> t = d.templates();
  return t.empty() ? cifar_templates() : t;
}

// A training run, in named steps: set-up (the job's processes, output folder, data, tokenizer,
// model, loader, resume, the replicas), then the loop (next batch, train step, log line; evaluations
// and checkpoints on schedule). Under mpirun every rank runs the same steps on its slice of each
// global batch (SPEC §6); rank 0 alone prints progress and writes metrics and checkpoints.
class Trainer {
 public:
  explicit Trainer(const TrainOptions& opt) : opt_(opt) {}

  int run() {
    join_ranks();
    check_options();
    open_data();
    open_reinforced();
    read_resume_info();
    make_tokenizer();
    build_model();
    make_loader();
    make_probe();
    restore_checkpoint();
    start_replicas();
    print_summary();
    open_metrics();
    return train_loop();
  }

 private:
  // The job's processes (one without mpirun). With several, --batch is the global batch, cut into
  // equal slices, and the step becomes a data-parallel one. First, so that a CUDA rank picks its GPU
  // before anything touches one.
  void join_ranks() {
    SiglipDist siglip = parse_siglip_dist(opt_.siglip_dist);
    HC_CHECK(opt_.hyper_set == "local" || opt_.hyper_set == "global", "--hyper-set expects local or global, got '",
             opt_.hyper_set, "'");
    comm_ = &world_communicator(opt_.device == "cuda" ? Device::CUDA : Device::CPU);
    ranks_ = comm_->size();
    writer_ = comm_->rank() == 0;
    if (ranks_ == 1) return;  // one process: the plain step, no exchange at all
    HC_CHECK(opt_.reinforced.empty(), "--reinforced runs as one process for now (its step has no all-reduce yet)");
    HC_CHECK(opt_.set_loss == "batch", "--set-loss split runs as one process for now (the distributed loss is one SigLIP)");
    HC_CHECK(opt_.batch % ranks_ == 0, "--batch ", opt_.batch, " is the global batch of the ", ranks_,
             " processes and must be divisible by ", ranks_, " (each takes an equal slice)");
    local_batch_ = opt_.batch / ranks_;
    DataParallelOptions o;
    o.siglip = siglip;
    o.global_set = opt_.hyper_set == "global";
    o.sync_bn = opt_.sync_bn;
    o.bucket_mb = opt_.bucket_mb;
    if (o.global_set) {
      HC_CHECK(opt_.set_size == 0, "--hyper-set global makes one set of the whole global batch; --set-size does not apply");
    } else if (opt_.set_size > 0) {
      HC_CHECK(local_batch_ % opt_.set_size == 0, "--set-size ", opt_.set_size, " must divide each process's slice of ",
               local_batch_, " (--batch ", opt_.batch, " over ", ranks_, " processes); sets do not span processes");
      o.set_size = opt_.set_size;
    }
    parallel_ = std::make_unique<DataParallel>(*comm_, o);
  }

  void check_options() {
    HC_CHECK(!opt_.data.empty(), "--data is required");
    HC_CHECK(!opt_.out_dir.empty(), "--out is required");
    HC_CHECK((opt_.steps > 0) != (opt_.epochs > 0), "give exactly one of --steps and --epochs");
    HC_CHECK(opt_.batch > 1, "--batch must be at least 2 (the SigLIP loss needs negatives)");
    HC_CHECK(opt_.set_sampling == "random" || opt_.set_sampling == "group", "--set-sampling expects random or group, got '",
             opt_.set_sampling, "'");
    HC_CHECK(opt_.set_sampling == "random" || opt_.set_size > 0, "--set-sampling group needs --set-size S");
    // The group sampler indexes the training data's rows; a reinforced dataset replays its own order.
    HC_CHECK(opt_.set_sampling == "random" || opt_.reinforced.empty(),
             "--set-sampling group with --reinforced is not supported (yet): give one of them");
    HC_CHECK(opt_.set_loss == "batch" || opt_.reinforced.empty(),
             "--set-loss split with --reinforced is not supported (yet): the reinforced objective has its own terms");
    HC_CHECK(opt_.diag_sets >= 0, "--diag-sets must be 0 or more");
    device_ = parse_device(opt_.device);
    backend_for(device_).set_math_mode(parse_math_mode(opt_.precision));  // bf16: products and dense convs
    if (opt_.threads > 0) omp_set_num_threads(opt_.threads);
    if (!writer_) return;
    ::mkdir(opt_.out_dir.c_str(), 0755);
    struct stat st;
    HC_CHECK(::stat(opt_.out_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), opt_.out_dir,
             ": cannot create the output folder");
  }

  // The training set (with the templates that caption a labelled one) and the evaluation sets.
  void open_data() {
    train_ = open_dataset(opt_.data, dataset_options(opt_, "train"));
    train_templates_ = templates_for(opt_, *train_);
    if (writer_) std::fprintf(stderr, "train data: %s\n", train_->describe().c_str());
    for (const std::string& spec : opt_.eval_data)
      for (const std::string& s : expand_eval_specs(spec)) {
        EvalSet e;
        e.name = s;
        e.data = open_dataset(s, dataset_options(opt_, "test"));
        HC_CHECK(e.data->labelled(), s, ": zero-shot evaluation needs a labelled dataset");
        e.classes = opt_.classes_file.empty() ? e.data->class_names() : load_class_names(opt_.classes_file);
        e.templates = templates_for(opt_, *e.data);
        std::string what = e.data->describe();
        if (what.find(" classes)") == std::string::npos) what += cat(" (", e.classes.size(), " classes)");  // not said yet
        if (writer_) std::fprintf(stderr, "eval data: %s\n", what.c_str());
        evals_.push_back(std::move(e));
      }
  }

  // --reinforced: the stored views and teacher embeddings of the training data, which must be the
  // data they were built from.
  void open_reinforced() {
    if (opt_.reinforced.empty()) return;
    HC_CHECK(opt_.augment == Augment::None, "--augment does not apply with --reinforced: training re-applies the ",
             "augmentations the reinforced dataset stores");
    auto t0 = Clock::now();
    reinforced_ = std::make_unique<ReinforcedData>(opt_.reinforced, *train_,
                                                   train_->labelled() ? train_templates_ : std::vector<std::string>());
    reinforced_images_ = std::make_unique<ReinforcedImages>(*train_, reinforced_->samples());
    std::fprintf(stderr, "reinforced: %s: %lld images x %lld views, %zu teachers (D %lld); distillation weight %g, "
                 "extra captions %s (%.1fs)\n", opt_.reinforced.c_str(), (long long)reinforced_->samples().size(),
                 (long long)reinforced_->augmentations(), reinforced_->index().teachers.size(),
                 (long long)reinforced_->dim(), opt_.distill_weight, opt_.extra_captions ? "on" : "off",
                 std::chrono::duration<double>(Clock::now() - t0).count());
  }

  // The configuration, tokenizer and step of the checkpoint to resume from (weights come later).
  void read_resume_info() {
    if (opt_.resume.empty()) return;
    resume_ = std::make_unique<Checkpoint>(read_checkpoint_info(opt_.resume));
    // The batches a run sees do not depend on its number of processes, but its sets and batch-norm
    // statistics may: continue under the same number.
    json args = json::parse(resume_->state.args_json, nullptr, false);
    int64_t written_by = args.is_object() ? args.value("ranks", int64_t{1}) : 1;
    HC_CHECK(written_by == ranks_, opt_.resume, ": checkpoint of a run of ", written_by, " process",
             written_by == 1 ? "" : "es", "; resume it under the same number (this run has ", ranks_, ")");
  }

  // The checkpoint's tokenizer when resuming, a given file, or one trained on the training captions.
  void make_tokenizer() {
    if (resume_) {
      tok_ = resume_->tokenizer;
      return;
    }
    if (!opt_.tokenizer_file.empty()) {
      tok_ = Tokenizer::load(opt_.tokenizer_file);
      return;
    }
    std::vector<std::string> captions;
    if (train_->labelled()) {
      for (const std::string& c : train_->class_names())
        for (const std::string& t : train_templates_) captions.push_back(fill_template(t, c));
    } else {
      size_t n = std::min<size_t>(train_->size(), static_cast<size_t>(opt_.tokenizer_captions));
      for (size_t i = 0; i < n; ++i) captions.push_back(train_->caption(i));
    }
    auto t0 = Clock::now();
    tok_ = Tokenizer::train(captions, static_cast<int32_t>(opt_.vocab));
    if (writer_) std::fprintf(stderr, "tokenizer: %d tokens from %zu captions (%.1fs)\n", tok_.vocab_size(), captions.size(),
                 std::chrono::duration<double>(Clock::now() - t0).count());
  }

  // The model configuration from the options, the model initialised from the seed, and AdamW.
  void build_model() {
    cfg_.image = image_preset(opt_.image);
    cfg_.text = text_preset(opt_.text);
    if (opt_.hyper == "none") {
      cfg_.mode = Mode::Baseline;
      HC_CHECK(opt_.mode.empty() || opt_.mode == "baseline", "--hyper none means --mode baseline");
    } else {
      cfg_.hyper = hyper_preset(opt_.hyper);
      cfg_.mode = parse_mode(opt_.mode.empty() ? "hyper" : opt_.mode);
      HC_CHECK(cfg_.mode != Mode::Baseline, "--mode baseline needs --hyper none");
    }
    if (opt_.image_size > 0) cfg_.image.image_size = opt_.image_size;
    if (opt_.context > 0) cfg_.text.context = opt_.context;
    if (opt_.text_causal >= 0) cfg_.text.causal = opt_.text_causal == 1;
    cfg_.embed = opt_.embed > 0 ? opt_.embed : (opt_.image.find("nano") != std::string::npos ? 128 : 512);
    cfg_.vocab = tok_.vocab_size();
    cfg_.set_size = opt_.set_size;
    // Each process's captions form its own set by default: what one process computes with
    // --set-size B/N, and what the checkpoint records.
    if (parallel_ && opt_.hyper_set == "local" && opt_.set_size == 0) cfg_.set_size = local_batch_;
    cfg_.generated = opt_.generated;
    cfg_.num_tokens = opt_.num_tokens;
    cfg_.hyper_input = opt_.hyper_input;
    cfg_.hyper_input_scale = opt_.hyper_input_scale;
    cfg_.set_loss = opt_.set_loss;
    HC_CHECK(cfg_.set_size == 0 || opt_.batch % cfg_.set_size == 0, "--batch ", opt_.batch,
             " is not divisible by --set-size ", cfg_.set_size);
    validate_config(cfg_, "training options");

    model_ = std::make_unique<HyperClip>(cfg_);
    model_->init_parameters(opt_.seed);
    model_->to(device_);  // before the optimiser, whose state lives beside the parameters
    AdamWConfig ac;
    ac.lr = opt_.lr;
    ac.weight_decay = opt_.wd;
    ac.hyper_lr_scale = opt_.hyper_lr_scale;
    optim_ = std::make_unique<AdamW>(model_->named_parameters(), ac);
  }

  // The batch loader and the schedule's length in steps.
  void make_loader() {
    LoaderOptions lo;
    lo.batch = opt_.batch;
    lo.image_size = static_cast<int>(cfg_.image.image_size);
    lo.seed = opt_.seed;
    lo.augment = opt_.augment;
    lo.workers = opt_.workers;
    lo.skip_corrupt = !opt_.fail_on_corrupt;
    lo.caption_templates = train_templates_;
    lo.set_size = cfg_.set_size;
    lo.group_sets = make_group_sampler();
    if (reinforced_)  // one stored view per image and epoch, re-applied exactly
      lo.replay = [this](int64_t epoch, size_t idx) {
        return reinforced_->augment(idx, reinforced_draw(reinforced_->samples(), reinforced_->augmentations(), opt_.seed,
                                                         epoch, idx).view);
      };
    lo.rank = comm_->rank();
    lo.ranks = ranks_;
    loader_ = std::make_unique<Loader>(reinforced_images_ ? static_cast<const Dataset&>(*reinforced_images_) : *train_, lo);
    per_epoch_ = loader_->batches_per_epoch();
    total_ = opt_.steps > 0 ? opt_.steps : opt_.epochs * per_epoch_;
    warmup_ = opt_.warmup >= 0 ? opt_.warmup : std::min<int64_t>(500, total_ / 10);
  }

  // --set-sampling group: the training data's groups and the sampler that deals sets from them.
  std::shared_ptr<const GroupSetSampler> make_group_sampler() {
    if (opt_.set_sampling != "group") return nullptr;
    groups_ = train_->sample_groups(opt_.group_column);
    HC_CHECK(!groups_.empty(), train_->describe(), " has no groups for --set-sampling group (a TSV with a header line ",
             "\"path<TAB>caption<TAB>", opt_.group_column, "\", or a folder laid out DIR/<group>/<class>/)");
    auto sampler = std::make_shared<GroupSetSampler>(groups_.of_sample, static_cast<int64_t>(groups_.names.size()),
                                                     cfg_.set_size, opt_.batch, opt_.seed);
    std::fprintf(stderr, "set sampling: %s; %s\n", groups_.source.c_str(), sampler->describe().c_str());
    return sampler;
  }

  // The fixed training sets the conditioning diagnostic measures at each evaluation: the shape the
  // hypernetwork trains on (sets of --set-size, or the whole batch), drawn the way training draws them.
  void make_probe() {
    if (!model_->hyper || opt_.diag_sets == 0) return;
    int64_t m = cfg_.set_size > 0 ? cfg_.set_size : opt_.batch;
    probe_ = std::make_unique<ConditioningProbe>(*train_, train_templates_, groups_.empty() ? nullptr : &groups_,
                                                 opt_.diag_sets, m, opt_.seed, tok_, cfg_.text.context);
    std::fprintf(stderr, "conditioning diagnostic: %s\n", probe_->describe().c_str());
  }

  // Weights, optimiser state and step from the checkpoint, which must be of this configuration.
  void restore_checkpoint() {
    if (!resume_) return;
    std::string diff = config_differences(resume_->config, cfg_);
    HC_CHECK(diff.empty(), opt_.resume, ": checkpoint of another configuration (checkpoint vs this run: ", diff, ")");
    load_checkpoint_weights(opt_.resume, *model_, optim_.get());
    step_ = resume_->state.step;
    HC_CHECK(step_ <= total_, opt_.resume, ": checkpoint is at step ", step_, ", beyond this run's ", total_, " steps");
    if (writer_) std::fprintf(stderr, "resumed from %s at step %lld\n", opt_.resume.c_str(), (long long)step_);
  }

  // Every rank starts from rank 0's weights, with --sync-bn attached to the batch norms.
  void start_replicas() {
    if (!parallel_) return;
    int norms = parallel_->attach(*model_);
    if (opt_.sync_bn && norms == 0 && writer_)
      std::fprintf(stderr, "--sync-bn: the %s tower has no batch norm; nothing to synchronise\n", opt_.image.c_str());
    parallel_->broadcast_state(*model_);
  }

  void print_summary() const {
    if (!writer_) return;
    if (parallel_)
      std::fprintf(stderr, "%d processes (%s), %lld samples each per step; loss exchange %s, hypernetwork set %s%s\n",
                   ranks_, comm_->name().c_str(), (long long)local_batch_, opt_.siglip_dist.c_str(),
                   opt_.hyper_set.c_str(), opt_.sync_bn ? ", synchronised batch norm" : "");
    std::fprintf(stderr,
                 "model: %s + %s + %s, mode %s, %lld parameters; %lld steps (%lld per epoch), batch %lld, %d threads\n",
                 opt_.image.c_str(), opt_.text.c_str(), opt_.hyper.c_str(), mode_name(cfg_.mode),
                 (long long)model_->parameter_count(), (long long)total_, (long long)per_epoch_,
                 (long long)opt_.batch, omp_get_max_threads());
  }

  // metrics.jsonl, continued when resuming.
  void open_metrics() {
    state_.total_steps = total_;
    json args = options_json(opt_);
    args["ranks"] = ranks_;
    state_.args_json = args.dump();
    if (!writer_) return;
    std::string path = opt_.out_dir + "/metrics.jsonl";
    metrics_.open(path, resume_ ? std::ios::app : std::ios::trunc);
    HC_CHECK(metrics_, path, ": cannot write");
  }

  // The next batch of the schedule with at least 2 usable samples (whole sets with --set-size),
  // on the device and tokenised; false when this step's batch had too few and is skipped. n is this
  // process's count.
  bool next_batch(int64_t& n) {
    int64_t epoch = step_ / per_epoch_, b = step_ % per_epoch_;
    if (epoch != loaded_epoch_) {
      loader_->start(epoch, b);
      loaded_epoch_ = epoch;
    }
    HC_CHECK(loader_->next(batch_), "loader ended early at step ", step_);
    for (const std::string& s : batch_.skipped_sources)
      std::fprintf(stderr, "%sskipped corrupt sample: %s\n", rank_prefix().c_str(), s.c_str());
    n = batch_.images.defined() ? batch_.images.size(0) : 0;
    step_skipped_ = batch_.skipped;
    if (parallel_) equal_slices(n);
    skipped_total_ += step_skipped_;
    int64_t sets = parallel_ ? parallel_->options().set_size : cfg_.set_size;
    if (sets > 0) n -= n % sets;  // keep whole sets when images were skipped
    if (n * ranks_ < 2) {
      if (writer_) std::fprintf(stderr, "step %lld: fewer than 2 usable samples, batch skipped\n", (long long)step_);
      return false;
    }
    images_ = n == batch_.images.size(0) ? batch_.images : slice(batch_.images, 0, 0, n);
    images_ = images_.to(device_);  // the loader fills host memory
    batch_.captions.resize(n);
    if (reinforced_) reinforced_batch(epoch, n);
    tokenize_batch(tok_, batch_.captions, cfg_.text.context, tokens_, eot_);
    tokens_ = tokens_.to(device_);
    eot_ = eot_.to(device_);
    return true;
  }

  // The slices of a step stay equal across processes: each keeps as many samples as the shortest
  // (a corrupt image skipped on one rank trims every rank's slice of that step). Sums the skipped.
  void equal_slices(int64_t& n) {
    std::vector<int64_t> counts = comm_->gather((step_skipped_ << 32) | n);
    step_skipped_ = 0;
    for (int64_t c : counts) {
      n = std::min(n, c & 0xffffffff);
      step_skipped_ += c >> 32;
    }
  }

  std::string rank_prefix() const { return ranks_ > 1 ? cat("rank ", comm_->rank(), ": ") : std::string(); }

  // --reinforced: the batch's real captions (in place of the loader's), its extra captions and the
  // teachers' embeddings of its stored views and of both captions, as reinforced_draw picks them.
  void reinforced_batch(int64_t epoch, int64_t n) {
    const ReinforcedSamples& s = reinforced_->samples();
    const int64_t D = reinforced_->dim();
    HC_CHECK(static_cast<int64_t>(batch_.indices.size()) >= n && batch_.sources.size() == batch_.indices.size(),
             "the loader gave ", batch_.indices.size(), " sample indices for ", n, " images");
    Tensor image = Tensor::empty({n, D}), text = Tensor::empty({n, D}), extra_text = Tensor::empty({n, D});
    std::vector<std::string> extra(n);
    for (int64_t i = 0; i < n; ++i) {
      size_t idx = batch_.indices[i];
      HC_CHECK(batch_.sources[i] == s.source[idx], opt_.reinforced, ": sample ", idx, " was reinforced from ",
               s.source[idx], ", the training data gives ", batch_.sources[i]);
      ReinforcedDraw d = reinforced_draw(s, reinforced_->augmentations(), opt_.seed, epoch, idx);
      std::copy_n(reinforced_->image_embedding(idx, d.view), D, image.data<float>() + i * D);
      std::copy_n(reinforced_->text_embedding(d.real), D, text.data<float>() + i * D);
      std::copy_n(reinforced_->text_embedding(d.extra), D, extra_text.data<float>() + i * D);
      batch_.captions[i] = s.captions[d.real];
      extra[i] = s.captions[d.extra];
    }
    rbatch_.teacher_dims = reinforced_->index().teacher_dims();
    rbatch_.teacher_image = image.to(device_);
    rbatch_.teacher_text = text.to(device_);
    rbatch_.extra_tokens = rbatch_.extra_eot = rbatch_.teacher_extra = Tensor();
    if (opt_.extra_captions) {
      tokenize_batch(tok_, extra, cfg_.text.context, rbatch_.extra_tokens, rbatch_.extra_eot);
      rbatch_.extra_tokens = rbatch_.extra_tokens.to(device_);
      rbatch_.extra_eot = rbatch_.extra_eot.to(device_);
      rbatch_.teacher_extra = extra_text.to(device_);
    }
  }

  // --reinforced: (1−λ)·SigLIP + λ·distillation for the real and the extra captions, summed.
  StepResult reinforced_step(double lr) {
    rbatch_.images = images_;
    rbatch_.tokens = tokens_;
    rbatch_.eot = eot_;
    return train_step_reinforced(*model_, *optim_, rbatch_, opt_.distill_weight, lr, opt_.clip, &terms_);
  }

  // The metrics line of a step, and the progress line every --log-every steps (rank 0). n counts
  // the samples of all processes.
  void log_step(const StepResult& r, double lr, int64_t n, double seconds) {
    if (!writer_) return;
    window_images_ += n;
    window_seconds_ += seconds;
    json line = {{"step", step_}, {"epoch", (step_ - 1) / per_epoch_}, {"loss", r.loss}, {"lr", lr},
                 {"images_per_s", n / seconds}, {"grad_norm", r.grad_norm},
                 {"logit_scale", model_->logit_scale.item()}, {"logit_bias", model_->logit_bias.item()},
                 {"skipped", step_skipped_}};
    if (parallel_) line["comm_s"] = step_comm_seconds_;  // this rank's time in collectives, waits included
    if (!std::isnan(r.loss_within)) {  // --set-loss split: loss = loss_within + loss_batch
      line["loss_within"] = r.loss_within;
      line["loss_batch"] = r.loss_batch;
    }
    if (reinforced_) {  // the terms unweighted; loss = (1−λ)·loss_siglip + λ·loss_distill
      line["loss_siglip"] = terms_.siglip_real + terms_.siglip_extra;
      line["loss_distill"] = terms_.distill_real + terms_.distill_extra;
      line["loss_siglip_real"] = terms_.siglip_real;
      line["loss_distill_real"] = terms_.distill_real;
      if (opt_.extra_captions) {
        line["loss_siglip_extra"] = terms_.siglip_extra;
        line["loss_distill_extra"] = terms_.distill_extra;
      }
    }
    metrics_ << line.dump() << "\n";
    if (step_ % opt_.log_every == 0 || step_ == total_ || step_ == first_ + 1) {
      double elapsed = std::chrono::duration<double>(Clock::now() - t_start_).count();
      double eta = elapsed / (step_ - first_) * (total_ - step_);
      std::fprintf(stderr, "step %lld/%lld  epoch %lld  loss %.4f  lr %.2e  %.1f img/s  elapsed %s  ETA %s\n",
                   (long long)step_, (long long)total_, (long long)((step_ - 1) / per_epoch_), r.loss, lr,
                   window_images_ / window_seconds_, format_duration(elapsed).c_str(), format_duration(eta).c_str());
      window_images_ = window_seconds_ = 0;
      metrics_.flush();
    }
  }

  // Zero-shot evaluation of every evaluation set, then the conditioning diagnostic, into
  // metrics.jsonl and the progress output. Rank 0 evaluates the model it would write; the others wait.
  void evaluate() {
    if (parallel_) parallel_->average_buffers(*model_);
    if (writer_) evaluate_sets();
    if (parallel_) comm_->barrier();
  }

  void evaluate_sets() {
    std::vector<std::pair<std::string, Tensor>> generated;  // each task's generated parameters
    for (EvalSet& e : evals_) {
      ZeroShotOptions zo;
      zo.workers = opt_.workers;
      zo.max_samples = opt_.eval_samples;
      auto t0 = Clock::now();
      ZeroShotResult r = zero_shot_eval(*model_, tok_, *e.data, e.classes, e.templates, zo);
      metrics_ << json{{"eval", e.name}, {"step", step_}, {"top1", r.top1}, {"top5", r.top5},
                       {"mean_class_top1", r.mean_class_top1}, {"majority", r.majority}, {"n", r.n}}.dump() << "\n";
      std::fprintf(stderr, "eval %-24s step %lld  top1 %.4f  top5 %.4f  n %lld  (%.1fs)\n", e.name.c_str(),
                   (long long)step_, r.top1, r.top5, (long long)r.n,
                   std::chrono::duration<double>(Clock::now() - t0).count());
      generated.emplace_back(e.name, r.generated);
    }
    diagnose(generated);
    metrics_.flush();
  }

  // The conditioning diagnostic (infer/conditioning.h): how much the generated parameters move
  // between the fixed training sets and between the evaluation tasks, and the spread through the
  // hypernetwork's stages.
  void diagnose(const std::vector<std::pair<std::string, Tensor>>& generated) {
    if (!probe_) return;
    auto t0 = Clock::now();
    ConditioningReport r = probe_->measure(*model_, generated);
    json j = r.to_json();
    j["diag"] = "conditioning";
    j["step"] = step_;
    metrics_ << j.dump() << "\n";
    std::fprintf(stderr, "diag conditioning step %lld  %s  (%.1fs)\n", (long long)step_, r.summary().c_str(),
                 std::chrono::duration<double>(Clock::now() - t0).count());
  }

  // DIR/step_NNNNNN.safetensors and DIR/last.safetensors, each written atomically, by rank 0 after
  // checking that every rank holds the same model.
  void checkpoint() {
    if (parallel_) {
      parallel_->average_buffers(*model_);
      parallel_->check_replicas(*model_);
    }
    if (writer_) write_checkpoint();
    if (parallel_) comm_->barrier();
  }

  void write_checkpoint() {
    state_.step = step_;
    char name[64];
    std::snprintf(name, sizeof name, "/step_%06lld.safetensors", (long long)step_);
    save_checkpoint(opt_.out_dir + name, *model_, tok_, optim_.get(), state_);
    save_checkpoint(opt_.out_dir + "/last.safetensors", *model_, tok_, optim_.get(), state_);
    last_good_ = opt_.out_dir + "/last.safetensors";
  }

  // A non-finite loss stops the run with exit status 3; the last checkpoint is left intact.
  int stop_on_non_finite(const NonFiniteLoss& e) {
    if (!writer_) return 3;  // every rank saw the same global loss and stops here too
    std::string intact = !last_good_.empty() ? "the last good checkpoint " + last_good_ + " is intact"
                         : resume_           ? "the checkpoint " + opt_.resume + " is intact"
                                             : std::string("no checkpoint was written yet");
    std::fprintf(stderr, "training stopped at step %lld: %s. %s\n", (long long)step_, e.what(), intact.c_str());
    metrics_ << json{{"step", step_}, {"error", e.what()}}.dump() << "\n";
    return 3;
  }

  int train_loop() {
    t_start_ = Clock::now();
    first_ = step_;
    while (step_ < total_) {
      auto t0 = Clock::now();
      int64_t n = 0;
      if (!next_batch(n)) {
        ++step_;
        continue;
      }
      double lr = lr_at(step_, opt_.lr, warmup_, total_);
      StepResult r;
      double comm0 = comm_->stats().seconds;
      try {
        r = reinforced_ ? reinforced_step(lr)
                        : train_step(*model_, *optim_, images_, tokens_, eot_, lr, opt_.clip, parallel_.get());
      } catch (const NonFiniteLoss& e) {
        return stop_on_non_finite(e);
      }
      step_comm_seconds_ = comm_->stats().seconds - comm0;
      ++step_;
      log_step(r, lr, n * ranks_, std::chrono::duration<double>(Clock::now() - t0).count());
      if (opt_.eval_every > 0 && step_ % opt_.eval_every == 0 && step_ != total_) evaluate();
      if (opt_.ckpt_every > 0 && step_ % opt_.ckpt_every == 0 && step_ != total_) checkpoint();
    }
    checkpoint();
    if (!evals_.empty() || probe_) evaluate();
    if (!writer_) return 0;
    if (skipped_total_) std::fprintf(stderr, "%lld corrupt samples were skipped\n", (long long)skipped_total_);
    std::fprintf(stderr, "done: %lld steps in %s; checkpoint %s/last.safetensors\n", (long long)(step_ - first_),
                 format_duration(std::chrono::duration<double>(Clock::now() - t_start_).count()).c_str(),
                 opt_.out_dir.c_str());
    return 0;
  }

  const TrainOptions opt_;
  Device device_ = Device::CPU;
  // The job's processes.
  Communicator* comm_ = nullptr;
  int ranks_ = 1;
  bool writer_ = true;                       // rank 0: progress, metrics, checkpoints
  int64_t local_batch_ = 0;                  // this process's slice of --batch
  std::unique_ptr<DataParallel> parallel_;   // null in a one-process run
  // Data.
  std::unique_ptr<Dataset> train_;
  std::vector<std::string> train_templates_;
  std::vector<EvalSet> evals_;
  SampleGroups groups_;  // --set-sampling group
  std::unique_ptr<ConditioningProbe> probe_;
  std::unique_ptr<ReinforcedData> reinforced_;           // --reinforced
  std::unique_ptr<ReinforcedImages> reinforced_images_;  // its images, what the loader reads
  // Model and optimiser.
  std::unique_ptr<Checkpoint> resume_;
  Tokenizer tok_;
  ModelConfig cfg_;
  std::unique_ptr<HyperClip> model_;
  std::unique_ptr<AdamW> optim_;
  // Schedule.
  std::unique_ptr<Loader> loader_;
  int64_t per_epoch_ = 0, total_ = 0, warmup_ = 0, step_ = 0, first_ = 0, loaded_epoch_ = -1;
  // The current batch.
  Batch batch_;
  Tensor images_, tokens_, eot_;
  ReinforcedBatch rbatch_;  // --reinforced: the rest of the batch
  ReinforcedLosses terms_;
  // Output.
  std::ofstream metrics_;
  TrainState state_;
  std::string last_good_;
  Clock::time_point t_start_;
  double window_images_ = 0, window_seconds_ = 0;
  int64_t skipped_total_ = 0, step_skipped_ = 0;
  double step_comm_seconds_ = 0;
};

int run_train(const TrainOptions& opt) { return Trainer(opt).run(); }

}  // namespace hc
