// Checkpoints in the safetensors format: the model's state dict under its own names (so that
// safetensors.torch.load_file() feeds a PyTorch state dict directly), the optimiser's moments as
// "optimizer.exp_avg.<name>" and "optimizer.exp_avg_sq.<name>", and in the metadata the model
// configuration, the tokenizer and the training state. Written atomically (data/safetensors.h).
#pragma once
#include <memory>
#include <string>

#include "data/tokenizer.h"
#include "models/hyperclip.h"
#include "train/adamw.h"

namespace hc {

struct TrainState {
  int64_t step = 0;            // optimiser steps done
  int64_t total_steps = 0;
  std::string args_json = "{}";  // the training options, for the record and for --resume
};

void save_checkpoint(const std::string& path, const HyperClip& model, const Tokenizer& tok,
                     const AdamW* opt, const TrainState& state);

struct Checkpoint {
  std::string path;
  ModelConfig config;
  Tokenizer tokenizer;
  TrainState state;
};

// Reads the header and metadata (config, tokenizer, state) only.
Checkpoint read_checkpoint_info(const std::string& path);
// Loads weights (and, when opt is given, the optimiser state) into a model built from the same
// configuration; any mismatch is an error naming the file and the tensor.
void load_checkpoint_weights(const std::string& path, HyperClip& model, AdamW* opt);

// A trained model for inference: a checkpoint's configuration, tokenizer and state, and the model
// built from them with the file's weights, on `device`, in evaluation mode. What eval, export and
// embed start from.
struct LoadedModel {
  Checkpoint info;
  std::unique_ptr<HyperClip> model;
};
LoadedModel load_model(const std::string& path, Device device = Device::CPU);

}  // namespace hc
