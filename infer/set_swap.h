// The set-swap test (eval --swap-test; docs/hypernetwork.md, issue 25): does a HyperCLIP image
// tower learn to read its images' group from the generated parameters instead of from the images?
//
// Trained on batches of B/m sets of m captions, each set from one group, every image's norm
// parameters come from its own set's captions, so the parameters alone say which set, and hence
// which group, an image belongs to; a model can then separate an image from the other sets'
// captions (most of the SigLIP negatives of a batch) without seeing it. The test replays training
// batches and gives each image the parameters of another set of its batch (a cyclic shift of the
// sets by a = 1 .. S-1): if the best-scoring caption of the batch moves to the parameters' set,
// the parameters, not the image, decide the group. For every shift it records, image by image:
//
//   set_top1      the best caption of the whole batch lies in the image's own set
//   follows_params  ... lies in the set whose parameters the image was given (shifts a > 0)
//   in_set_top1   among its own set's m captions, the image's own caption scores highest
//   loss          the batch's SigLIP loss (shift 0 is the training loss of the batch)
//
// "own" is shift 0; "swapped" averages the shifts a > 0. The baseline has no parameters (one
// shift: how well the images alone tell the sets apart); token mode generates one set of
// parameters for every set, so swapping changes nothing (follows_params is then undefined).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "models/hyperclip.h"

namespace hc {

struct SetSwapReport {
  int64_t batches = 0, images = 0, sets_per_batch = 0, set_size = 0;
  bool swappable = false;  // more than one set of parameters per batch (hyper mode)
  double loss_own = 0, loss_swapped = 0;
  double set_top1_own = 0, set_top1_swapped = 0;  // best caption in the image's own set
  double follows_params = 0;                      // swapped: best caption in the parameters' set
  double in_set_top1_own = 0, in_set_top1_swapped = 0;
  nlohmann::json to_json() const;  // undefined figures (baseline, token mode) as null
  std::string summary() const;
};

// Accumulates the test over batches; each batch is B images in consecutive sets of set_size, with
// their B captions (tokens [B, T], eot [B]), as the training loader delivers them.
class SetSwapTest {
 public:
  SetSwapTest(const HyperClip& model, int64_t set_size);
  void add(const Tensor& images, const Tensor& tokens, const Tensor& eot);
  SetSwapReport report() const;

 private:
  const HyperClip& model_;
  int64_t m_;
  int64_t batches_ = 0, images_ = 0, swapped_images_ = 0, sets_ = 0;
  bool swappable_ = false;
  double loss_own_ = 0, loss_swapped_ = 0;  // sums over batches (own) and over batches x shifts (swapped)
  int64_t swapped_batches_ = 0;             // batches x shifts > 0
  int64_t set_own_ = 0, set_swapped_ = 0, follows_ = 0, in_set_own_ = 0, in_set_swapped_ = 0;
};

}  // namespace hc
