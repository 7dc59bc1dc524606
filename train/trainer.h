// `hyperclip train`: data, tokenizer, model, the training loop with progress, metrics, zero-shot
// evaluation and checkpoints, and exact resumption.
#pragma once
#include <string>
#include <vector>

#include "data/loader.h"
#include "models/config.h"

namespace hc {

struct TrainOptions {
  // Model.
  std::string image = "convnet-nano", text = "text-nano", hyper = "hyper-nano";  // hyper "none": baseline
  std::string mode;         // "" = hyper when a hypernetwork is given, baseline otherwise
  int64_t embed = 0;        // 0: 128 for nano image presets, 512 otherwise
  int64_t image_size = 0;   // 0: the image preset's
  int64_t context = 0;      // 0: the text preset's context length
  int text_causal = -1;     // -1: the text preset's mask; 0 / 1: not causal / causal
  int64_t set_size = 0;
  std::string generated = "all";  // which norm layers are generated (ModelConfig::generated)
  int64_t num_tokens = 16;
  std::string hyper_input = "raw";  // raw | center (ModelConfig::hyper_input)
  double hyper_input_scale = 1.0;
  std::string set_loss = "batch";  // batch | split (ModelConfig::set_loss)
  // Data.
  std::string data;
  std::vector<std::string> eval_data;
  std::string classes_file, templates_file;
  int64_t synthetic_size = 0;  // training scenes of the synthetic dataset (0: its default)
  Augment augment = Augment::None;
  int workers = 2;
  bool fail_on_corrupt = false;
  // Sets (docs/hypernetwork.md): "random" cuts the shuffled batch into sets; "group" fills each set
  // from one group of the data (data/set_sampler.h): a TSV column (group_column), or the class
  // folder's parent in a two-level folder.
  std::string set_sampling = "random";
  std::string group_column = "group";
  // Reinforced training (SPEC 2.2): the reinforced dataset of --data (data/reinforced.h), the
  // distillation weight λ, and whether each step adds a batch of extra captions.
  std::string reinforced;
  double distill_weight = 0.75;
  bool extra_captions = true;
  // Tokenizer.
  std::string tokenizer_file;
  int64_t vocab = 8192;
  int64_t tokenizer_captions = 20000;
  // Optimisation.
  int64_t steps = 0, epochs = 0, batch = 64, warmup = -1;  // warmup -1: min(500, steps / 10)
  double lr = 5e-4, wd = 0.1, clip = 1.0;
  double hyper_lr_scale = 1.0;  // the hypernetwork's learning rate is lr times this
  uint64_t seed = 0;
  int threads = 0;  // 0: OpenMP's default
  std::string device = "cpu";
  std::string precision = "fp32";  // fp32 | bf16 (bf16 mixed precision, --device cuda only)
  // Across processes (SPEC §6, docs/distributed.md): under mpirun, batch is the global batch.
  std::string siglip_dist = "gather";  // the distributed loss: gather | ring
  std::string hyper_set = "local";     // each rank's captions (local) or all of them (global)
  bool sync_bn = false;                // batch-norm statistics over every rank's images
  double bucket_mb = 25;               // gradient all-reduce bucket size
  // Output.
  std::string out_dir, resume;
  int64_t log_every = 10, eval_every = 0, ckpt_every = 0, eval_samples = 0;
  // The conditioning diagnostic at each evaluation (infer/conditioning.h): this many fixed
  // training sets; 0 turns it off.
  int64_t diag_sets = 16;
};

// Runs the whole job; returns the process exit status (0 on success). Errors throw hc::Error.
int run_train(const TrainOptions& opt);

// The dataset split a DATA spec names for evaluation ("test" for cifar and synthetic), and the
// list of evaluation sets a spec expands to ("synthetic" -> one per task).
std::vector<std::string> expand_eval_specs(const std::string& spec);

}  // namespace hc
