// The inference runtime of exported classifiers and image encoders (issue: deployment): a plan of
// fused float32 layers built once from an exported image tower, run without the tape, tensors or
// gradient buffers.
//
// At construction the tower (a folded ConvNet, a folded MCi tower or an adapted ViT) becomes a list
// of layers (infer/kernels_cpu.h): conv + bias + activation, depthwise (or grouped with a channel
// multiplier) conv + bias + activation, squeeze-excitation, 1x1 conv / linear with bias, activation
// or residual add in the GEMM's epilogue, layer norm, attention, mean pooling. Activations are channels-last. Every intermediate value gets a slot of
// one arena, allocated here for max_batch images: a value's slot is handed to a later value once
// its last reader has run (liveness), so the arena holds a few activations, not one per layer.
// Calls allocate nothing (Eigen may take a GEMM's packing buffer from the heap for a large product).
//
// Threads (up to omp_get_max_threads() at construction; a WorkerPool of its own, see
// infer/worker_pool.h for why not OpenMP regions):
//   n >= 2 images: one hand-out per call; each thread runs every layer on its share of the
//     images, without synchronising (throughput).
//   one image: a layer is split between the threads (pixels, rows or query rows) only if it does
//     at least parallel_min_macs multiply-adds; smaller layers run on the calling thread, so that
//     waking and parking threads around tiny kernels does not cost more than the kernels (latency).
// Not reentrant: one call at a time per runtime.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "infer/kernels_cpu.h"
#include "infer/worker_pool.h"
#include "models/config.h"
#include "models/image_tower.h"

namespace hc {

struct RuntimeOptions {
  int64_t max_batch = 64;              // larger calls are run in chunks of this size
  int64_t parallel_min_macs = 1 << 20;  // batch 1: layers below this run on one thread
  int threads = 0;                      // 0: omp_get_max_threads() at construction
};

class ImageRuntime {
 public:
  // tower: an exported (folded ConvNet or ViT) image tower as configured by config.image;
  // classes [K, E] (may have K = 0: an image encoder). Weights are copied; the tower may go.
  ImageRuntime(const ImageTower& tower, const ModelConfig& config, const Tensor& classes,
               RuntimeOptions options = {});

  // images [n, 3, S, S] float32 NCHW -> out [n, E]: L2-normalised embeddings.
  void embed(const float* images, int64_t n, float* out);
  // images [n, 3, S, S] -> out [n, K]: cosines with the class matrix's rows.
  void cosines(const float* images, int64_t n, float* out);
  // The same with tensors (any float dtype in, float32 out).
  Tensor embed(const Tensor& images);
  Tensor cosines(const Tensor& images);

  int64_t arena_bytes() const { return static_cast<int64_t>(arena_.size() * sizeof(float)); }
  int64_t weight_bytes() const;
  int64_t embed_dim() const { return E_; }
  int64_t num_classes() const { return K_; }
  int threads() const { return threads_; }
  // A JSON summary: layers, slots, arena and weight bytes, which layers split at batch 1.
  std::string describe() const;

 private:
  enum class Kind { Conv, Linear, Depthwise, SqueezeExcite, LayerNorm, Attention, MeanPool };
  struct Layer {
    Kind kind;
    std::string name;
    int in = -1, out = -1, residual = -1;  // value ids (residual == out: in place)
    int64_t rows = 1;                      // rows per image (pixels or tokens) for Linear/LayerNorm
    int64_t in_dim = 0, out_dim = 0;
    infer::Act act = infer::Act::None;
    infer::Act inner = infer::Act::SiLU;  // squeeze-excitation: the activation between its two products
    infer::ConvGeom conv{};
    infer::DepthwiseGeom dw{};
    int64_t heads = 0;
    double eps = 1e-5;
    const float *w = nullptr, *b = nullptr, *w2 = nullptr, *b2 = nullptr, *add = nullptr;
    int64_t macs = 0;  // multiply-adds per image
  };
  struct Value {
    int64_t floats = 0;  // per image
    int last_use = -1;   // index of the last layer that reads or rewrites it
    int slot = -1;       // -1: the caller's input images
  };

  int value(int64_t floats_per_image);
  const float* keep(const Tensor& t);                    // a float32 copy owned by the runtime
  const float* keep(std::vector<float> v);
  Layer& add_layer(Kind kind, const std::string& name, int in, int out);
  void plan_convnet(const ImageTower& tower, const ModelConfig& config);
  void plan_vit(const ImageTower& tower, const ModelConfig& config);
  void plan_mci(const ImageTower& tower, const ModelConfig& config);  // infer/runtime_mci.cpp
  // Plan helpers for channels-last values of H×H pixels (infer/runtime_mci.cpp): a depthwise or
  // channel-multiplier conv, a 1x1 conv / linear layer (out == residual: added in place), and a
  // squeeze-excitation in place. Each returns its output value.
  int plan_depthwise(const Conv2d& conv, int in, int64_t& H, infer::Act act, const std::string& name);
  int plan_linear(const Tensor& w, const Tensor& b, int in, int out, int residual, int64_t rows, infer::Act act,
                  const std::string& name);
  void plan_squeeze_excite(const Conv2d& fc1, const Conv2d& fc2, int x, int64_t rows, infer::Act inner, infer::Act out,
                           const std::string& name);
  void allocate();  // liveness-based slots, then the arena

  float* at(int value_id, int64_t base, int64_t image) const;
  float* scratch(int thread) const { return arena_.data() + scratch_offset_ + thread * scratch_floats_; }
  // Layer l on images [b, e), part `part` of `parts` of its inner range.
  void exec(const Layer& l, int64_t b, int64_t e, int part, int parts, float* scratch) const;
  void run(const float* images, int64_t n, float* out, bool cosines);
  void run_chunk(const float* images, int64_t n, float* out, bool cosines);
  void tail(int64_t b, int64_t e, float* out, bool cosines) const;
  bool splits(const Layer& l, int64_t n) const;

  RuntimeOptions opt_;
  int threads_ = 1;
  int64_t S_ = 0, E_ = 0, K_ = 0;
  std::vector<Layer> layers_;
  std::vector<Value> values_;
  std::vector<std::vector<float>> weights_;
  const float* classes_ = nullptr;  // [K, E]
  int input_ = -1, embedding_ = -1;
  const float* images_ = nullptr;   // the current call's input
  std::vector<int64_t> slot_floats_, slot_offset_;
  int64_t scratch_offset_ = 0, scratch_floats_ = 0;
  mutable std::vector<float> arena_;
  std::shared_ptr<WorkerPool> pool_;  // threads_ − 1 workers
};

}  // namespace hc
