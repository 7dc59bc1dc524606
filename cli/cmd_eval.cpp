// hyperclip eval (SPEC §5): zero-shot top-1 / top-5 of a checkpoint on labelled data; per-task
// scores of a task split; the conditioning diagnostic of a HyperCLIP checkpoint.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/backend.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "infer/conditioning.h"
#include "infer/set_swap.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace hc::cli {

static const char* kEvalHelp =
    "usage: hyperclip eval --ckpt CKPT --data DATA [--data DATA]... [--classes FILE] [--templates FILE]\n"
    "                      [--split test|train] [--batch N] [--threads N] [--workers N] [--max-samples N]\n"
    "                      [--device cpu|cuda] [--task-split FILE|group]\n"
    "                      [--diagnose [--diag-data DATA] [--diag-sets M] [--diag-set-size m] [--trace-fresh]]\n"
    "                      [--swap-test [--swap-batches K]]\n"
    "\n"
    "Prints one JSON line {\"data\": spec, \"top1\": x, \"top5\": x, \"mean_class_top1\": x, \"majority\": x,\n"
    "\"n\": N} per evaluated set (mean_class_top1: top-1 averaged over classes; majority: the share of the\n"
    "most frequent class, what always answering it scores), in the order given (--data synthetic evaluates every synthetic task). Templates default to the dataset's own, or\n"
    "CLIP's 18 CIFAR templates.\n"
    "\n"
    "--task-split FILE|group  also score each data set as several smaller tasks: FILE has one line\n"
    "    \"class<TAB>task\" per class; group takes the tasks from a folder laid out DIR/<group>/<class>/.\n"
    "    The hypernetwork sees only a task's classes, and a task's images are ranked among its classes\n"
    "    only; the baseline is scored on the same tasks. One more JSON line per data set:\n"
    "    {\"data\", \"task_split\", \"tasks\": [{\"task\", \"classes\", \"top1\", \"top5\", \"mean_class_top1\", \"n\"}],\n"
    "    \"mean_top1\", \"mean_top5\", \"mean_mean_class_top1\" (unweighted means over the tasks)}.\n"
    "--diagnose  (hyper and token checkpoints) the conditioning diagnostic (docs/hypernetwork.md): one\n"
    "    JSON line {\"diag\": \"conditioning\", ...} with the generated parameters' rms, their spread over\n"
    "    M fixed training sets, each evaluated task's distance from the training mean and the distances\n"
    "    between tasks, and the spread through every stage of the hypernetwork (\"trace\"); a summary and\n"
    "    the trace as a table on stderr. The training sets come from --diag-data (default: the\n"
    "    checkpoint's training data, drawn as its training drew sets: --set-size, --set-sampling,\n"
    "    --group-column, --seed); --diag-sets M (default 16), --diag-set-size m (default the training set\n"
    "    size, or its batch); --trace-fresh adds the trace of a freshly initialised hypernetwork on the\n"
    "    same inputs.\n"
    "--swap-test  (checkpoints trained with --set-size) the set-swap test (docs/hypernetwork.md): replays\n"
    "    the first K training batches (--swap-batches, default 8) as training drew them and gives each\n"
    "    image the generated parameters of another set of its batch; one JSON line {\"diag\": \"set_swap\",\n"
    "    ...}: the batch loss with its own and with swapped parameters, how often an image's best caption\n"
    "    of the batch lies in its own set and (swapped) in the set its parameters came from, and how\n"
    "    often its own caption is the best of its set. The baseline and token mode report the unswapped\n"
    "    figures. --data is then optional.\n";

namespace {

// The training options a checkpoint recorded (TrainState::args_json), or an empty object.
nlohmann::json training_args(const Checkpoint& info) {
  nlohmann::json j = nlohmann::json::parse(info.state.args_json, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

template <class T>
T arg_or(const nlohmann::json& j, const char* key, T fallback) {
  return j.contains(key) && !j[key].is_null() ? j[key].get<T>() : fallback;
}

// The training data of the checkpoint (or --diag-data), opened as its training opened it.
std::unique_ptr<Dataset> open_training_data(const Args& a, const Checkpoint& info) {
  nlohmann::json args = training_args(info);
  std::string spec = a.get("diag-data", arg_or<std::string>(args, "data", ""));
  HC_CHECK(!spec.empty(), info.path, ": the checkpoint does not record its training data; give --diag-data DATA");
  DatasetOptions d;
  d.split = "train";
  d.seed = arg_or<uint64_t>(args, "seed", 0);
  d.synthetic_train_size = static_cast<size_t>(arg_or<int64_t>(args, "synthetic_size", 0));
  return open_dataset(spec, d);
}

// The conditioning probe eval draws: the given data or the checkpoint's training data, in the shape
// and with the sampling the training used.
ConditioningProbe make_eval_probe(const Args& a, const Checkpoint& info) {
  nlohmann::json args = training_args(info);
  std::unique_ptr<Dataset> data = open_training_data(a, info);
  const uint64_t seed = arg_or<uint64_t>(args, "seed", 0);
  std::vector<std::string> templates = a.has("templates") ? load_templates(a.get("templates")) : data->templates();
  if (templates.empty()) templates = cifar_templates();
  int64_t set_size = info.config.set_size > 0 ? info.config.set_size : arg_or<int64_t>(args, "batch", 64);
  set_size = a.get_int("diag-set-size", set_size);
  SampleGroups groups;
  if (arg_or<std::string>(args, "set_sampling", "random") == "group")
    groups = data->sample_groups(arg_or<std::string>(args, "group_column", "group"));
  ConditioningProbe probe(*data, templates, groups.empty() ? nullptr : &groups, a.get_int("diag-sets", 16), set_size,
                          seed, info.tokenizer, info.config.text.context);
  std::fprintf(stderr, "conditioning diagnostic: %s of %s\n", probe.describe().c_str(), data->describe().c_str());
  return probe;
}

// The set-swap test on the first --swap-batches batches of epoch 0, drawn as the checkpoint's
// training drew them (batch, set size, set sampling, seed; no augmentation).
SetSwapReport run_swap_test(const Args& a, const Checkpoint& info, HyperClip& model) {
  nlohmann::json args = training_args(info);
  const int64_t m = info.config.set_size, batches = a.get_int("swap-batches", 8);
  HC_CHECK(m > 0, info.path, ": --swap-test needs a checkpoint trained with --set-size (sets to swap)");
  HC_CHECK(batches > 0, "--swap-batches must be positive, got ", batches);
  std::unique_ptr<Dataset> data = open_training_data(a, info);
  LoaderOptions lo;
  lo.batch = arg_or<int64_t>(args, "batch", 64);
  lo.image_size = static_cast<int>(info.config.image.image_size);
  lo.seed = arg_or<uint64_t>(args, "seed", 0);
  lo.set_size = m;
  lo.workers = static_cast<int>(a.get_int("workers", 2));
  lo.caption_templates = a.has("templates") ? load_templates(a.get("templates")) : data->templates();
  if (data->labelled() && lo.caption_templates.empty()) lo.caption_templates = cifar_templates();
  SampleGroups groups;
  if (arg_or<std::string>(args, "set_sampling", "random") == "group") {
    groups = data->sample_groups(arg_or<std::string>(args, "group_column", "group"));
    HC_CHECK(!groups.empty(), data->describe(), ": the checkpoint trained with group sets, but the data has no groups");
    lo.group_sets = std::make_shared<GroupSetSampler>(groups.of_sample, static_cast<int64_t>(groups.names.size()), m,
                                                      lo.batch, lo.seed);
  }
  Loader loader(*data, lo);
  loader.start(0);
  bool was_training = model.is_training();
  model.eval();
  SetSwapTest test(model, m);
  Device device = model.logit_scale.device();
  Batch b;
  for (int64_t k = 0; k < batches && loader.next(b); ++k) {
    Tensor tokens, eot;
    tokenize_batch(info.tokenizer, b.captions, info.config.text.context, tokens, eot);
    test.add(b.images.to(device), tokens.to(device), eot.to(device));
  }
  model.train(was_training);
  return test.report();
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  Args a(argc, argv, {"ckpt", "data", "classes", "templates", "split", "batch", "threads", "workers", "max-samples",
                      "device", "task-split", "diag-data", "diag-sets", "diag-set-size", "swap-batches"},
         {"help", "diagnose", "trace-fresh", "swap-test"});
  if (a.flag("help")) {
    std::printf("%s", kEvalHelp);
    return 0;
  }
  if (a.has("threads")) omp_set_num_threads(static_cast<int>(a.get_int("threads")));
  std::string path = a.get("ckpt");
  Device device = parse_device(a.get("device", "cpu"));
  LoadedModel loaded = load_model(path, device);
  const Checkpoint& info = loaded.info;
  HyperClip& model = *loaded.model;
  bool diagnose = a.flag("diagnose");
  HC_CHECK(!diagnose || model.hyper, path, ": --diagnose needs a HyperCLIP checkpoint (hyper or token mode); this one is ",
           mode_name(info.config.mode));
  std::vector<std::string> specs;
  for (const std::string& given : a.all("data"))
    for (const std::string& spec : expand_eval_specs(given)) specs.push_back(spec);
  bool swap = a.flag("swap-test");
  HC_CHECK(!specs.empty() || swap, "missing required option --data");
  std::vector<std::pair<std::string, Tensor>> generated;  // every task's generated parameters, for --diagnose
  for (const std::string& spec : specs) {
    DatasetOptions d;
    d.split = a.get("split", "test");
    d.class_names_file = a.get("classes", "");
    std::unique_ptr<Dataset> data = open_dataset(spec, d);
    HC_CHECK(data->labelled(), spec, ": zero-shot evaluation needs a labelled dataset (classes)");
    std::vector<std::string> classes = a.has("classes") ? load_class_names(a.get("classes")) : data->class_names();
    std::vector<std::string> templates = a.has("templates") ? load_templates(a.get("templates")) : data->templates();
    if (templates.empty()) templates = cifar_templates();
    ZeroShotOptions zo;
    zo.batch = a.get_int("batch", 256);
    zo.workers = static_cast<int>(a.get_int("workers", 2));
    zo.max_samples = a.get_int("max-samples", 0);
    ZeroShotResult r = zero_shot_eval(model, info.tokenizer, *data, classes, templates, zo);
    nlohmann::json j = {{"data", spec}, {"top1", r.top1}, {"top5", r.top5}, {"mean_class_top1", r.mean_class_top1},
                            {"majority", r.majority}, {"n", r.n}};
    if (r.skipped) j["skipped"] = r.skipped;
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    generated.emplace_back(spec, r.generated);
    if (!a.has("task-split")) continue;
    std::string how = a.get("task-split");
    TaskSplit split;
    if (how == "group") {
      HC_CHECK(!data->class_groups().empty(), spec, ": --task-split group needs a folder laid out DIR/<group>/<class>/ ",
               "(or give a file of \"class<TAB>task\" lines)");
      split = task_split_from_groups(data->class_groups());
    } else {
      split = read_task_split(how, classes);
    }
    SplitResult s = zero_shot_eval_split(model, info.tokenizer, *data, classes, templates, split, zo);
    nlohmann::json tasks = nlohmann::json::array();
    for (size_t t = 0; t < split.names.size(); ++t) {
      const ZeroShotResult& tr = s.tasks[t];
      int64_t k = std::count(split.of_class.begin(), split.of_class.end(), static_cast<int32_t>(t));
      tasks.push_back({{"task", split.names[t]}, {"classes", k}, {"top1", tr.top1}, {"top5", tr.top5},
                       {"mean_class_top1", tr.mean_class_top1}, {"n", tr.n}});
      generated.emplace_back(spec + " | " + split.names[t], tr.generated);
    }
    nlohmann::json js = {{"data", spec}, {"task_split", how}, {"tasks", tasks}, {"mean_top1", s.mean_top1},
                         {"mean_top5", s.mean_top5}, {"mean_mean_class_top1", s.mean_mean_class_top1}, {"n", s.n}};
    std::printf("%s\n", js.dump().c_str());
    std::fflush(stdout);
  }
  if (diagnose) {
    ConditioningProbe probe = make_eval_probe(a, info);
    int64_t fresh_seed = a.flag("trace-fresh") ? arg_or<int64_t>(training_args(info), "seed", 0) : -1;
    ConditioningReport r = probe.measure(model, generated, fresh_seed);
    nlohmann::json j = r.to_json();
    j["diag"] = "conditioning";
    j["ckpt"] = path;
    std::printf("%s\n", j.dump().c_str());
    std::fprintf(stderr, "%s\n%s", r.summary().c_str(), r.trace_table().c_str());
  }
  if (swap) {
    SetSwapReport r = run_swap_test(a, info, model);
    nlohmann::json j = r.to_json();
    j["ckpt"] = path;
    std::printf("%s\n", j.dump().c_str());
    std::fprintf(stderr, "%s\n", r.summary().c_str());
  }
  return 0;
}

}  // namespace hc::cli
