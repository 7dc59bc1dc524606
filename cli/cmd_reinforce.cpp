// hyperclip reinforce (SPEC §5, 2.2): a reinforced dataset from teachers (train/reinforce.h).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "train/reinforce.h"

namespace hc::cli {

static const char* kReinforceHelp =
    "usage: hyperclip reinforce --teacher CKPT [--teacher CKPT ...] --data DATA --augmentations R -o DIR\n"
    "                           [--augment none|crop|crop-flip] [--crop-scale-min X] [--seed S]\n"
    "                           [--classes FILE] [--templates FILE] [--synthetic-size N]\n"
    "                           [--teacher-set captions|captions:K|none] [--batch N] [--shard-size N]\n"
    "                           [--workers N] [--threads N] [--device cpu|cuda] [--max-shards N]\n"
    "\n"
    "Writes a reinforced dataset to DIR (docs/reinforced.md): for every training sample of DATA, R\n"
    "augmentations drawn from the training augmentation (deterministic by --seed and sample), each\n"
    "teacher's L2-normalised image embedding of each view and text embedding of each of the sample's\n"
    "captions, in fp16. Teachers are any checkpoints (any tower and mode); several concatenate. A TSV that\n"
    "lists an image on several rows gives it all those captions; labelled data is captioned by the\n"
    "templates. Run the same command again to resume an interrupted run. Prints one JSON line of timings.\n"
    "\n"
    "  --augment            the augmentation drawn (default crop-flip; none stores the centre square)\n"
    "  --crop-scale-min X   random resized crop's smallest area fraction (default 0.5, as train)\n"
    "  --seed S             augmentation draws, and a synthetic base dataset's seed (default 0)\n"
    "  --teacher-set        what a hyper-mode teacher's hypernetwork sees: 'captions' (default: as many\n"
    "                       training captions as its training sets held, drawn by the seed), 'captions:K',\n"
    "                       or 'none' (the tower without generated offsets)\n"
    "  --batch N            samples per teacher pass, each with its R views (default 64)\n"
    "  --shard-size N       samples (and captions) per shard file (default 1024)\n"
    "  --workers N          decoding threads (default 2); --threads N: the teachers' OpenMP threads\n"
    "  --max-shards N       stop after writing N image shards (resume later with the same command)\n";

int cmd_reinforce(int argc, char** argv) {
  Args a(argc, argv,
         {"teacher", "data", "augmentations", "output", "augment", "crop-scale-min", "seed", "classes", "templates",
          "synthetic-size", "teacher-set", "batch", "shard-size", "workers", "threads", "device", "max-shards"},
         {"help"});
  if (a.flag("help")) {
    std::printf("%s", kReinforceHelp);
    return 0;
  }
  ReinforceOptions o;
  o.teachers = a.all("teacher");
  o.data = a.get("data");
  o.augmentations = a.get_int("augmentations");
  o.out_dir = a.get("output");
  o.augment = parse_augment(a.get("augment", "crop-flip"));
  o.crop_scale_min = a.get_double("crop-scale-min", o.crop_scale_min);
  o.seed = static_cast<uint64_t>(a.get_int("seed", 0));
  o.classes_file = a.get("classes", "");
  o.templates_file = a.get("templates", "");
  o.synthetic_size = a.get_int("synthetic-size", 0);
  o.teacher_set = a.get("teacher-set", o.teacher_set);
  o.batch = a.get_int("batch", o.batch);
  o.shard_size = a.get_int("shard-size", o.shard_size);
  o.workers = static_cast<int>(a.get_int("workers", 2));
  o.threads = static_cast<int>(a.get_int("threads", 0));
  o.device = a.get("device", "cpu");
  o.max_shards = a.get_int("max-shards", 0);
  return run_reinforce(o);
}

}  // namespace hc::cli
