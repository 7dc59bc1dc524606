#include "train/trainer.h"

#include <omp.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/backend.h"
#include "data/synthetic.h"
#include "data/tokenizer.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "models/config_io.h"
#include "models/hyperclip.h"
#include "train/checkpoint.h"
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
          {"synthetic_size", o.synthetic_size}};
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

int run_train(const TrainOptions& opt_in) {
  TrainOptions opt = opt_in;
  HC_CHECK(!opt.data.empty(), "--data is required");
  HC_CHECK(!opt.out_dir.empty(), "--out is required");
  HC_CHECK((opt.steps > 0) != (opt.epochs > 0), "give exactly one of --steps and --epochs");
  HC_CHECK(opt.batch > 1, "--batch must be at least 2 (the SigLIP loss needs negatives)");
  const Device device = parse_device(opt.device);
  backend_for(device).set_math_mode(parse_math_mode(opt.precision));  // bf16: CUDA only, refused on the CPU
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  ::mkdir(opt.out_dir.c_str(), 0755);
  struct stat st;
  HC_CHECK(::stat(opt.out_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), opt.out_dir, ": cannot create the output folder");

  // Data.
  std::unique_ptr<Dataset> train = open_dataset(opt.data, dataset_options(opt, "train"));
  std::vector<std::string> train_templates = templates_for(opt, *train);
  std::fprintf(stderr, "train data: %s\n", train->describe().c_str());
  std::vector<EvalSet> evals;
  for (const std::string& spec : opt.eval_data)
    for (const std::string& s : expand_eval_specs(spec)) {
      EvalSet e;
      e.name = s;
      e.data = open_dataset(s, dataset_options(opt, "test"));
      HC_CHECK(e.data->labelled(), s, ": zero-shot evaluation needs a labelled dataset");
      e.classes = opt.classes_file.empty() ? e.data->class_names() : load_class_names(opt.classes_file);
      e.templates = templates_for(opt, *e.data);
      std::string what = e.data->describe();
      if (what.find(" classes)") == std::string::npos) what += cat(" (", e.classes.size(), " classes)");  // not said yet
      std::fprintf(stderr, "eval data: %s\n", what.c_str());
      evals.push_back(std::move(e));
    }

  // Tokenizer and model configuration (taken from the checkpoint when resuming).
  std::unique_ptr<Checkpoint> resume;
  if (!opt.resume.empty()) resume = std::make_unique<Checkpoint>(read_checkpoint_info(opt.resume));
  Tokenizer tok;
  if (resume) {
    tok = resume->tokenizer;
  } else if (!opt.tokenizer_file.empty()) {
    tok = Tokenizer::load(opt.tokenizer_file);
  } else {
    std::vector<std::string> captions;
    if (train->labelled()) {
      for (const std::string& c : train->class_names())
        for (const std::string& t : train_templates) captions.push_back(fill_template(t, c));
    } else {
      size_t n = std::min<size_t>(train->size(), static_cast<size_t>(opt.tokenizer_captions));
      for (size_t i = 0; i < n; ++i) captions.push_back(train->caption(i));
    }
    auto t0 = Clock::now();
    tok = Tokenizer::train(captions, static_cast<int32_t>(opt.vocab));
    std::fprintf(stderr, "tokenizer: %d tokens from %zu captions (%.1fs)\n", tok.vocab_size(), captions.size(),
                 std::chrono::duration<double>(Clock::now() - t0).count());
  }
  ModelConfig cfg;
  cfg.image = image_preset(opt.image);
  cfg.text = text_preset(opt.text);
  if (opt.hyper == "none") {
    cfg.mode = Mode::Baseline;
    HC_CHECK(opt.mode.empty() || opt.mode == "baseline", "--hyper none means --mode baseline");
  } else {
    cfg.hyper = hyper_preset(opt.hyper);
    cfg.mode = parse_mode(opt.mode.empty() ? "hyper" : opt.mode);
    HC_CHECK(cfg.mode != Mode::Baseline, "--mode baseline needs --hyper none");
  }
  if (opt.image_size > 0) cfg.image.image_size = opt.image_size;
  if (opt.context > 0) cfg.text.context = opt.context;
  if (opt.text_causal >= 0) cfg.text.causal = opt.text_causal == 1;
  cfg.embed = opt.embed > 0 ? opt.embed : (opt.image.find("nano") != std::string::npos ? 128 : 512);
  cfg.vocab = tok.vocab_size();
  cfg.set_size = opt.set_size;
  cfg.generated = opt.generated;
  cfg.num_tokens = opt.num_tokens;
  HC_CHECK(cfg.set_size == 0 || opt.batch % cfg.set_size == 0, "--batch ", opt.batch,
           " is not divisible by --set-size ", cfg.set_size);

  HyperClip model(cfg);
  model.init_parameters(opt.seed);
  model.to(device);  // before the optimiser, whose state lives beside the parameters
  AdamWConfig ac;
  ac.lr = opt.lr;
  ac.weight_decay = opt.wd;
  ac.hyper_lr_scale = opt.hyper_lr_scale;
  AdamW optim(model.named_parameters(), ac);

  LoaderOptions lo;
  lo.batch = opt.batch;
  lo.image_size = static_cast<int>(cfg.image.image_size);
  lo.seed = opt.seed;
  lo.augment = opt.augment;
  lo.workers = opt.workers;
  lo.skip_corrupt = !opt.fail_on_corrupt;
  lo.caption_templates = train_templates;
  Loader loader(*train, lo);
  int64_t per_epoch = loader.batches_per_epoch();
  int64_t total = opt.steps > 0 ? opt.steps : opt.epochs * per_epoch;
  int64_t warmup = opt.warmup >= 0 ? opt.warmup : std::min<int64_t>(500, total / 10);

  int64_t step = 0;
  if (resume) {
    std::string diff = config_differences(resume->config, cfg);
    HC_CHECK(diff.empty(), opt.resume, ": checkpoint of another configuration (checkpoint vs this run: ", diff, ")");
    load_checkpoint_weights(opt.resume, model, &optim);
    step = resume->state.step;
    HC_CHECK(step <= total, opt.resume, ": checkpoint is at step ", step, ", beyond this run's ", total, " steps");
    std::fprintf(stderr, "resumed from %s at step %lld\n", opt.resume.c_str(), (long long)step);
  }
  std::fprintf(stderr, "model: %s + %s + %s, mode %s, %lld parameters; %lld steps (%lld per epoch), batch %lld, %d threads\n",
               opt.image.c_str(), opt.text.c_str(), opt.hyper.c_str(), mode_name(cfg.mode),
               (long long)model.parameter_count(), (long long)total, (long long)per_epoch, (long long)opt.batch,
               omp_get_max_threads());

  std::string metrics_path = opt.out_dir + "/metrics.jsonl";
  std::ofstream metrics(metrics_path, resume ? std::ios::app : std::ios::trunc);
  HC_CHECK(metrics, metrics_path, ": cannot write");
  TrainState state;
  state.total_steps = total;
  state.args_json = options_json(opt).dump();
  std::string last_good;
  auto checkpoint = [&](int64_t at) {
    state.step = at;
    char name[64];
    std::snprintf(name, sizeof name, "/step_%06lld.safetensors", (long long)at);
    save_checkpoint(opt.out_dir + name, model, tok, &optim, state);
    save_checkpoint(opt.out_dir + "/last.safetensors", model, tok, &optim, state);
    last_good = opt.out_dir + "/last.safetensors";
  };
  auto evaluate = [&](int64_t at) {
    for (EvalSet& e : evals) {
      ZeroShotOptions zo;
      zo.workers = opt.workers;
      zo.max_samples = opt.eval_samples;
      auto t0 = Clock::now();
      ZeroShotResult r = zero_shot_eval(model, tok, *e.data, e.classes, e.templates, zo);
      metrics << json{{"eval", e.name}, {"step", at}, {"top1", r.top1}, {"top5", r.top5},
                      {"mean_class_top1", r.mean_class_top1}, {"majority", r.majority}, {"n", r.n}}.dump() << "\n";
      std::fprintf(stderr, "eval %-24s step %lld  top1 %.4f  top5 %.4f  n %lld  (%.1fs)\n", e.name.c_str(),
                   (long long)at, r.top1, r.top5, (long long)r.n,
                   std::chrono::duration<double>(Clock::now() - t0).count());
    }
    metrics.flush();
  };

  auto t_start = Clock::now();
  int64_t first = step, skipped_total = 0;
  double window_images = 0, window_seconds = 0;
  Batch batch;
  int64_t loaded_epoch = -1;
  while (step < total) {
    int64_t epoch = step / per_epoch, b = step % per_epoch;
    if (epoch != loaded_epoch) {
      loader.start(epoch, b);
      loaded_epoch = epoch;
    }
    auto t0 = Clock::now();
    HC_CHECK(loader.next(batch), "loader ended early at step ", step);
    skipped_total += batch.skipped;
    for (const std::string& s : batch.skipped_sources) std::fprintf(stderr, "skipped corrupt sample: %s\n", s.c_str());
    int64_t n = batch.images.defined() ? batch.images.size(0) : 0;
    if (cfg.set_size > 0) n -= n % cfg.set_size;  // keep whole sets when images were skipped
    if (n < 2) {
      std::fprintf(stderr, "step %lld: fewer than 2 usable samples, batch skipped\n", (long long)step);
      ++step;
      continue;
    }
    Tensor images = n == batch.images.size(0) ? batch.images : slice(batch.images, 0, 0, n);
    images = images.to(device);  // the loader fills host memory
    batch.captions.resize(n);
    Tensor tokens, eot;
    tokenize_batch(tok, batch.captions, cfg.text.context, tokens, eot);
    tokens = tokens.to(device);
    eot = eot.to(device);
    double lr = lr_at(step, opt.lr, warmup, total);
    StepResult r;
    try {
      r = train_step(model, optim, images, tokens, eot, lr, opt.clip);
    } catch (const NonFiniteLoss& e) {
      std::fprintf(stderr, "training stopped at step %lld: %s. %s\n", (long long)step, e.what(),
                   last_good.empty() ? (resume ? ("the checkpoint " + opt.resume + " is intact").c_str()
                                               : "no checkpoint was written yet")
                                     : ("the last good checkpoint " + last_good + " is intact").c_str());
      metrics << json{{"step", step}, {"error", e.what()}}.dump() << "\n";
      return 3;
    }
    ++step;
    double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    window_images += n;
    window_seconds += dt;
    double ips = n / dt;
    metrics << json{{"step", step}, {"epoch", epoch}, {"loss", r.loss}, {"lr", lr}, {"images_per_s", ips},
                    {"grad_norm", r.grad_norm}, {"logit_scale", model.logit_scale.item()},
                    {"logit_bias", model.logit_bias.item()}, {"skipped", batch.skipped}}.dump() << "\n";
    if (step % opt.log_every == 0 || step == total || step == first + 1) {
      double elapsed = std::chrono::duration<double>(Clock::now() - t_start).count();
      double eta = elapsed / (step - first) * (total - step);
      std::fprintf(stderr, "step %lld/%lld  epoch %lld  loss %.4f  lr %.2e  %.1f img/s  elapsed %s  ETA %s\n",
                   (long long)step, (long long)total, (long long)epoch, r.loss, lr, window_images / window_seconds,
                   format_duration(elapsed).c_str(), format_duration(eta).c_str());
      window_images = window_seconds = 0;
      metrics.flush();
    }
    if (opt.eval_every > 0 && step % opt.eval_every == 0 && step != total) evaluate(step);
    if (opt.ckpt_every > 0 && step % opt.ckpt_every == 0 && step != total) checkpoint(step);
  }
  checkpoint(step);
  if (!evals.empty()) evaluate(step);
  if (skipped_total) std::fprintf(stderr, "%lld corrupt samples were skipped\n", (long long)skipped_total);
  std::fprintf(stderr, "done: %lld steps in %s; checkpoint %s/last.safetensors\n", (long long)(step - first),
               format_duration(std::chrono::duration<double>(Clock::now() - t_start).count()).c_str(),
               opt.out_dir.c_str());
  return 0;
}

}  // namespace hc
