// hyperclip eval (SPEC §5): zero-shot top-1 / top-5 of a checkpoint on labelled data.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/backend.h"
#include "data/dataset.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace hc::cli {

static const char* kEvalHelp =
    "usage: hyperclip eval --ckpt CKPT --data DATA [--data DATA]... [--classes FILE] [--templates FILE]\n"
    "                      [--split test|train] [--batch N] [--threads N] [--workers N] [--max-samples N]\n"
    "                      [--device cpu|cuda]\n"
    "\n"
    "Prints one JSON line {\"data\": spec, \"top1\": x, \"top5\": x, \"mean_class_top1\": x, \"majority\": x,\n"
    "\"n\": N} per evaluated set (mean_class_top1: top-1 averaged over classes; majority: the share of the\n"
    "most frequent class, what always answering it scores), in the order given (--data synthetic evaluates every synthetic task). Templates default to the dataset's own, or\n"
    "CLIP's 18 CIFAR templates.\n";

int cmd_eval(int argc, char** argv) {
  Args a(argc, argv, {"ckpt", "data", "classes", "templates", "split", "batch", "threads", "workers", "max-samples",
                                   "device"},
         {"help"});
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
  std::vector<std::string> specs;
  for (const std::string& given : a.all("data"))
    for (const std::string& spec : expand_eval_specs(given)) specs.push_back(spec);
  HC_CHECK(!specs.empty(), "missing required option --data");
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
  }
  return 0;
}

}  // namespace hc::cli
