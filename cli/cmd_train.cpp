// hyperclip train (SPEC §5).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "train/trainer.h"

namespace hc::cli {

static const char* kTrainHelp =
    "usage: hyperclip train --image P --text P --hyper P|none [--mode baseline|hyper|token]\n"
    "                       --data DATA [--eval-data DATA]... [--classes FILE] [--templates FILE]\n"
    "                       (--steps N | --epochs N) --batch B [--lr X] [--wd X] [--warmup N]\n"
    "                       [--seed S] [--threads N] [--device cpu|cuda] [--precision fp32|bf16]\n"
    "                       [--tokenizer FILE]\n"
    "                       --out DIR [--resume CKPT]\n"
    "                       [--reinforced DIR [--distill-weight X] [--extra-captions on|off]]\n"
    "       mpirun -np N hyperclip train ... --batch B   (B is the global batch: N slices of B/N)\n"
    "\n"
    "Trains a model and writes DIR/metrics.jsonl (one JSON object per step; evaluations as their own\n"
    "lines), DIR/last.safetensors and periodic DIR/step_NNNNNN.safetensors checkpoints.\n"
    "\n"
    "DATA: tsv:FILE | folder:DIR | wds:PATTERN | cifar10:DIR | cifar100:DIR |\n"
    "      idx:IMAGES,LABELS[,CLASSNAMES] | synthetic[:TASK]\n"
    "  (--eval-data synthetic evaluates every synthetic task; labelled training data gets captions\n"
    "   from its class names through the templates)\n"
    "\n"
    "more options:\n"
    "  --embed E            embedding size (default 128 for nano image presets, 512 otherwise)\n"
    "  --image-size PX      override the image preset's input size\n"
    "  --context T          override the text preset's context length (captions are cut to fit)\n"
    "  --text-causal yes|no override the text preset's attention mask (text-mct: no, others: yes)\n"
    "  --set-size S         split each batch into sets of S captions, each adapting its own images\n"
    "  --set-sampling random|group     random: sets cut from the shuffled batch (default); group:\n"
    "                       each set from one group of the data, a batch of B/S sets from different\n"
    "                       groups (needs --set-size; docs/hypernetwork.md)\n"
    "  --group-column NAME  the TSV header column group sampling reads (default group); a folder\n"
    "                       laid out DIR/<group>/<class>/ groups by the class folder's parent\n"
    "  --hyper-input raw|center        the hypernetwork's input: the set's embeddings (default), or\n"
    "                       each set's embeddings minus the set's mean\n"
    "  --hyper-input-scale X           multiply the hypernetwork's input by X (default 1)\n"
    "  --set-loss batch|split          batch: one SigLIP loss over the batch, each image with its\n"
    "                       set's parameters (default); split: SigLIP within each set (its own\n"
    "                       parameters) plus SigLIP over the batch with the whole batch's parameters\n"
    "                       (needs --set-size; docs/hypernetwork.md)\n"
    "  --diag-sets M        conditioning diagnostic at each evaluation over M fixed training sets\n"
    "                       (default 16; 0: off; docs/hypernetwork.md)\n"
    "  --generated-layers all|first:N|last:N   which image-tower norm layers the hypernetwork\n"
    "                       generates (default all; in order: docs/model.md)\n"
    "  --hyper-lr-scale X   the hypernetwork's learning rate is --lr times X (default 1)\n"
    "  --num-tokens K       learned set size in token mode (default 16)\n"
    "  --clip X             global gradient-norm clip (default 1.0; 0 disables)\n"
    "  --vocab V            tokenizer size when training one (default 8192)\n"
    "  --augment none|crop|crop-flip   training augmentation (default none)\n"
    "  --workers N          image decoding threads (default 2)\n"
    "  --on-corrupt skip|fail          corrupt images are skipped and counted (default) or fatal\n"
    "  --synthetic-size N   scenes in the synthetic training split\n"
    "  --log-every N        progress line every N steps (default 10)\n"
    "  --eval-every N       zero-shot evaluation every N steps (and at the end)\n"
    "  --eval-samples N     evaluate on at most N samples per set\n"
    "  --ckpt-every N       checkpoint every N steps (and at the end)\n"
    "  --reinforced DIR     train on a reinforced dataset of --data (hyperclip reinforce; docs/reinforced.md):\n"
    "                       one stored view per image and epoch, loss (1-X)*SigLIP + X*distillation\n"
    "  --distill-weight X   the distillation weight X (default 0.75)\n"
    "  --extra-captions on|off  add a batch of each image's extra captions to each step (default on)\n"
    "  --lr default 5e-4, --wd default 0.1, --warmup default min(500, steps/10), --seed default 0\n"
    "\n"
    "across processes (under mpirun; docs/distributed.md):\n"
    "  --siglip-dist gather|ring  the global SigLIP loss: all-gather the texts (default) or pass\n"
    "                       them around a ring (memory of one slice, N-1 messages each way)\n"
    "  --hyper-set local|global   the hypernetwork's set: each process's own captions (default,\n"
    "                       = one process with --set-size B/N) or all B captions\n"
    "  --sync-bn            batch-norm statistics over all processes' images (= one process on B)\n"
    "  --bucket-mb X        gradient all-reduce bucket size in MiB (default 25)\n";

int cmd_train(int argc, char** argv) {
  Args a(argc, argv,
         {"image", "text", "hyper", "mode", "data", "eval-data", "classes", "templates", "steps", "epochs", "batch",
          "lr", "wd", "warmup", "seed", "threads", "device", "precision", "tokenizer", "out", "resume", "embed", "image-size", "context", "text-causal",
          "set-size", "generated-layers", "hyper-lr-scale", "num-tokens", "clip", "vocab", "augment", "workers", "on-corrupt", "synthetic-size",
          "log-every", "eval-every", "eval-samples", "ckpt-every", "set-sampling", "group-column", "hyper-input",
          "hyper-input-scale", "set-loss", "diag-sets", "reinforced", "distill-weight", "extra-captions", "siglip-dist", "hyper-set",
          "bucket-mb"},
         {"help", "sync-bn"});
  if (a.flag("help")) {
    std::printf("%s", kTrainHelp);
    return 0;
  }
  TrainOptions o;
  o.image = a.get("image");
  o.text = a.get("text");
  o.hyper = a.get("hyper");
  o.mode = a.get("mode", "");
  o.data = a.get("data");
  o.eval_data = a.all("eval-data");
  o.classes_file = a.get("classes", "");
  o.templates_file = a.get("templates", "");
  o.steps = a.get_int("steps", 0);
  o.epochs = a.get_int("epochs", 0);
  o.batch = a.get_int("batch");
  o.lr = a.get_double("lr", o.lr);
  o.wd = a.get_double("wd", o.wd);
  o.warmup = a.get_int("warmup", -1);
  o.seed = static_cast<uint64_t>(a.get_int("seed", 0));
  o.threads = static_cast<int>(a.get_int("threads", 0));
  o.device = a.get("device", "cpu");
  o.precision = a.get("precision", "fp32");
  o.tokenizer_file = a.get("tokenizer", "");
  o.out_dir = a.get("out");
  o.resume = a.get("resume", "");
  o.embed = a.get_int("embed", 0);
  o.image_size = a.get_int("image-size", 0);
  o.context = a.get_int("context", 0);
  if (a.has("text-causal")) o.text_causal = a.get_yes_no("text-causal", true) ? 1 : 0;
  o.set_size = a.get_int("set-size", 0);
  o.generated = a.get("generated-layers", "all");
  o.hyper_lr_scale = a.get_double("hyper-lr-scale", 1.0);
  HC_CHECK(o.hyper_lr_scale > 0, "--hyper-lr-scale must be positive, got ", o.hyper_lr_scale);
  o.num_tokens = a.get_int("num-tokens", 16);
  o.set_sampling = a.get("set-sampling", "random");
  o.group_column = a.get("group-column", "group");
  o.hyper_input = a.get("hyper-input", "raw");
  HC_CHECK(o.hyper_input == "raw" || o.hyper_input == "center", "--hyper-input expects raw or center, got '",
           o.hyper_input, "'");
  o.hyper_input_scale = a.get_double("hyper-input-scale", 1.0);
  HC_CHECK(o.hyper_input_scale > 0, "--hyper-input-scale must be positive, got ", o.hyper_input_scale);
  o.set_loss = a.get("set-loss", "batch");
  HC_CHECK(o.set_loss == "batch" || o.set_loss == "split", "--set-loss expects batch or split, got '", o.set_loss, "'");
  HC_CHECK(o.set_loss == "batch" || o.set_size > 0, "--set-loss split needs --set-size S");
  o.diag_sets = a.get_int("diag-sets", 16);
  o.clip = a.get_double("clip", 1.0);
  o.vocab = a.get_int("vocab", 8192);
  o.augment = parse_augment(a.get("augment", "none"));
  o.workers = static_cast<int>(a.get_int("workers", 2));
  std::string corrupt = a.get("on-corrupt", "skip");
  HC_CHECK(corrupt == "skip" || corrupt == "fail", "--on-corrupt expects skip or fail, got '", corrupt, "'");
  o.fail_on_corrupt = corrupt == "fail";
  o.synthetic_size = a.get_int("synthetic-size", 0);
  o.log_every = std::max<int64_t>(1, a.get_int("log-every", 10));
  o.eval_every = a.get_int("eval-every", 0);
  o.eval_samples = a.get_int("eval-samples", 0);
  o.ckpt_every = a.get_int("ckpt-every", 0);
  o.reinforced = a.get("reinforced", "");
  o.distill_weight = a.get_double("distill-weight", o.distill_weight);
  HC_CHECK(o.distill_weight >= 0 && o.distill_weight <= 1, "--distill-weight must be in [0, 1], got ", o.distill_weight);
  std::string extra = a.get("extra-captions", "on");
  HC_CHECK(extra == "on" || extra == "off", "--extra-captions expects on or off, got '", extra, "'");
  o.extra_captions = extra == "on";
  HC_CHECK(!o.reinforced.empty() || (!a.has("distill-weight") && !a.has("extra-captions")),
           "--distill-weight and --extra-captions need --reinforced DIR");
  o.siglip_dist = a.get("siglip-dist", "gather");
  o.hyper_set = a.get("hyper-set", "local");
  o.sync_bn = a.flag("sync-bn");
  o.bucket_mb = a.get_double("bucket-mb", 25);
  return run_train(o);
}

}  // namespace hc::cli
