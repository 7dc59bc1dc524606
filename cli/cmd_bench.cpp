// hyperclip bench (SPEC §4, §5): training throughput of a benchmark configuration on random
// in-memory data, as one JSON line. bench/torch_bench.py measures PyTorch the same way.
//
// What one step is: exactly train_step (forward, backward, global-norm clipping, AdamW, the
// logit-scale clamp), the same code `hyperclip train` runs, on one fixed random batch.
//
// Fields:
//   images_per_s            batch / median step time
//   step_ms                 median wall time of the timed steps (after `--warmup` untimed ones)
//   peak_rss_mb             the process's peak resident memory (VmHWM) after the timed steps,
//                           before the matrix-product peak is measured
//   peak_tensor_mb          the most tensor memory live at once during the timed steps (CUDA: in the
//                           caching allocator's size classes)
//   model_gflops_per_image  matrix-product FLOPs of one training step per image: the forward
//                           products (every conv, linear, matmul and attention's QKᵀ and PV in all
//                           three towers and the loss, counted by core/flops.h) times 3, for the
//                           forward and the two backward products (input and weight gradients).
//                           The hypernetwork runs once per batch; its share is divided by the batch.
//   peak_gflops             best of 20 1024×1024 single-precision products through the engine's
//                           own matmul kernel, on the same threads, in the same process
//   mfu                     model_gflops_per_image · images_per_s / peak_gflops
//   peak_gflops_fp32/_bf16  (CPU) the same peak measured with float32 and with bf16 products, and
//   mfu_fp32/_bf16          the MFU against each (the bf16 peak is the one a bf16 run can reach)
//   gemm                    what computed the matrix products (Eigen, or OpenBLAS and its kernels)
//   captions                "random" (random tokens, end-of-text uniform in [2, T-1]) or the DATA of
//                           --captions, whose first captions (a labelled dataset's class names through
//                           its templates) are tokenised by a tokenizer trained on up to 10000 of them
//   text_tokens_mean        mean caption length in tokens, start- and end-of-text included
//   text_length             the length the text tower ran (the batch's longest caption when trimming)
//
// Under mpirun (SPEC §6, docs/distributed.md) each of the N ranks takes its slice of the same global
// batch and runs the data-parallel step of `hyperclip train`; rank 0 prints the line, with
//   ranks                   N (1 for one process)
//   images_per_s            global batch / rank 0's median step time
//   comm_share              the share of rank 0's timed steps spent inside collectives (waits for
//                           slower ranks included)
//   comm_ms_per_step        that time per step; comm_mb_per_step the payload rank 0 handed to them
//   peak_gflops             the ranks' matrix-multiply peaks measured at the same time, summed
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/gpu_peak.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "comm/world.h"
#include "core/backend.h"
#include "ops/cpu/backend_cpu.h"
#include "core/flops.h"
#include "core/grad_mode.h"
#include "core/profile.h"
#include "core/random.h"
#include "core/tape.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "infer/templates.h"
#include "models/hyperclip.h"
#include "train/data_parallel.h"
#include "train/step.h"

namespace hc::cli {

static const char* kBenchHelp =
    "usage: hyperclip bench --config cpu-convnet|cpu-vit|cpu-mci|gpu-convnet|gpu-vit|gpu-mci\n"
    "                       [--mode hyper|baseline|token]\n"
    "                       [--steps N] [--warmup N] [--threads N] [--device cpu|cuda]\n"
    "                       [--precision fp32|bf16] [--batch B] [--seed S] [--peak-tflops X]\n"
    "                       [--captions DATA [--tokens-out FILE]] [--no-trim] [--profile]\n"
    "\n"
    "Times training steps (forward, backward, gradient clipping, AdamW) of a SPEC §4 benchmark\n"
    "configuration on one random in-memory batch and prints one JSON line: images_per_s, step_ms\n"
    "(median), peak_rss_mb, model_gflops_per_image (matrix-product FLOPs of forward + backward),\n"
    "peak_gflops (a matrix-multiply peak measured in the same run) and mfu.\n"
    "\n"
    "  --mode      hyper (default), baseline (no hypernetwork) or token\n"
    "  --steps     timed steps (default 10); --warmup untimed steps before them (default 2)\n"
    "  --threads   OpenMP threads (default: OpenMP's default)\n"
    "  --batch     override the configuration's batch size\n"
    "  --profile   after the timed steps, time two more op by op and print the share of each op\n"
    "              (forward and backward) and of the optimiser to stderr (one process only)\n"
    "  --captions DATA  real captions instead of random tokens: the first B of DATA (a dataset spec;\n"
    "              a labelled one's class names through its templates), tokenised by a tokenizer\n"
    "              trained on up to 10000 of its captions\n"
    "  --tokens-out FILE  writes the batch's tokens and end-of-text positions (JSON) for\n"
    "              bench/torch_bench.py --tokens\n"
    "  --no-trim   run the text tower on every position (what trimming saves)\n"
    "  --peak-runs N  1024^3 products timed for each matrix-product peak (default 20; 0 skips the\n"
    "              peaks and the MFU, e.g. under valgrind)\n"
    "\n"
    "Under mpirun -np N, --batch (or the configuration's) is the global batch, and each process\n"
    "runs its slice as hyperclip train does; also --siglip-dist, --hyper-set, --sync-bn and\n"
    "--bucket-mb as for train. The line adds comm_share, the share of the step spent in collectives.\n";

struct BenchConfig {
  std::string image, text, hyper;
  int64_t batch, embed;
  Device device;
};

static BenchConfig bench_config(const std::string& name) {
  if (name == "cpu-convnet") return {"convnet-nano", "text-nano", "hyper-nano", 128, 128, Device::CPU};
  if (name == "cpu-vit") return {"vit-nano", "text-nano", "hyper-nano", 128, 128, Device::CPU};
  if (name == "cpu-mci") return {"mci-nano", "text-nano", "hyper-nano", 128, 128, Device::CPU};
  if (name == "gpu-convnet") return {"convnet-b0", "text-base", "hyper-base", 256, 512, Device::CUDA};
  if (name == "gpu-vit") return {"vit-b16", "text-base", "hyper-base", 256, 512, Device::CUDA};
  if (name == "gpu-mci") return {"mci0", "text-mct", "hyper-base", 256, 512, Device::CUDA};
  throw Error(cat("unknown --config '", name,
                  "' (expected cpu-convnet, cpu-vit, cpu-mci, gpu-convnet, gpu-vit or gpu-mci)"));
}

// Peak resident memory of this process in MiB (VmHWM of /proc/self/status).
static double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return -1;
}

// Moves every parameter and buffer of a module to `device` in place (the handles the model and
// the optimiser hold stay valid).
static void move_to(Module& m, Device device) {
  for (auto& [name, t] : m.state_dict()) {
    if (t.device() == device) continue;
    Tensor moved = t.to(device);
    t.impl()->storage = moved.impl()->storage;
    t.impl()->offset = moved.impl()->offset;
  }
}

// Random inputs as training sees them: images N(0,1) [n,3,S,S]; each caption [SOT] random tokens
// [EOT] with its EOT at a random position in [2, T-1], zero padding after it.
static void random_batch(int64_t n, int64_t size, int64_t T, int64_t vocab, uint64_t seed, Device device,
                         Tensor& images, Tensor& tokens, Tensor& eot) {
  Generator g(seed);
  images = Tensor::empty({n, 3, size, size});
  fill_normal(images, g, 1.0);
  std::vector<int32_t> tok(n * T, 0), pos(n);
  int32_t sot = static_cast<int32_t>(vocab - 2), eot_id = static_cast<int32_t>(vocab - 1);
  for (int64_t i = 0; i < n; ++i) {
    int32_t e = 2 + static_cast<int32_t>(g.next_u64() % static_cast<uint64_t>(T - 2));
    pos[i] = e;
    tok[i * T] = sot;
    for (int32_t j = 1; j < e; ++j) tok[i * T + j] = 1 + static_cast<int32_t>(g.next_u64() % (vocab - 3));
    tok[i * T + e] = eot_id;
  }
  tokens = Tensor::from_ints(tok, {n, T});
  eot = Tensor::from_ints(pos, {n});
  if (device != Device::CPU) {
    images = images.to(device);
    tokens = tokens.to(device);
    eot = eot.to(device);
  }
}

// Real captions for the batch: caption i of DATA (cycling when DATA has fewer than n), or for a
// labelled dataset sample i's class name in a template drawn at random (as the loader captions
// them), tokenised to T by a BPE tokenizer of up to `vocab` tokens trained on up to 10000 of
// DATA's captions (all class names through all templates for a labelled one).
static void caption_batch(const std::string& spec, int64_t n, int64_t T, int64_t vocab, uint64_t seed, Device device,
                          Tensor& tokens, Tensor& eot, double& mean_tokens) {
  std::unique_ptr<Dataset> data = open_dataset(spec);
  HC_CHECK(data->size() > 0, "--captions ", spec, ": the dataset is empty");
  Generator g(seed);
  std::vector<std::string> templates = data->templates();
  if (templates.empty()) templates = cifar_templates();
  std::vector<std::string> batch, training;
  for (int64_t i = 0; i < n; ++i) {
    size_t k = static_cast<size_t>(i) % data->size();
    if (data->labelled()) {
      int label = data->get(k).label;
      batch.push_back(fill_template(templates[g.next_u64() % templates.size()], data->class_names().at(label)));
    } else {
      batch.push_back(data->caption(k));
    }
  }
  if (data->labelled()) {
    for (const std::string& c : data->class_names())
      for (const std::string& t : templates) training.push_back(fill_template(t, c));
  } else {
    for (size_t i = 0; i < std::min<size_t>(data->size(), 10000); ++i) training.push_back(data->caption(i));
  }
  Tokenizer tok = Tokenizer::train(training, static_cast<int32_t>(std::min<int64_t>(vocab, 1 << 30)));
  HC_CHECK(tok.vocab_size() <= vocab, "--captions: tokenizer of ", tok.vocab_size(), " tokens for a vocabulary of ", vocab);
  std::vector<int32_t> tok_ids, pos(n);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int32_t> ids = tok.encode_padded(batch[i], T, &pos[i]);
    tok_ids.insert(tok_ids.end(), ids.begin(), ids.end());
    total += pos[i] + 1;
  }
  mean_tokens = total / n;
  tokens = Tensor::from_ints(tok_ids, {n, T});
  eot = Tensor::from_ints(pos, {n});
  if (device != Device::CPU) {
    tokens = tokens.to(device);
    eot = eot.to(device);
  }
}

// The batch's tokens [n, T] and end-of-text positions [n] as JSON, for bench/torch_bench.py.
static void write_tokens(const std::string& path, const Tensor& tokens, const Tensor& eot, const std::string& source) {
  nlohmann::json j = {{"captions", source},
                      {"shape", {tokens.size(0), tokens.size(1)}},
                      {"tokens", tokens.to(Device::CPU).to_ints()},
                      {"eot", eot.to(Device::CPU).to_ints()}};
  std::ofstream f(path);
  HC_CHECK(f.good(), "--tokens-out: cannot write ", path);
  f << j.dump() << "\n";
  HC_CHECK(f.good(), "--tokens-out: writing ", path, " failed");
}

using Clock = std::chrono::steady_clock;
static double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best GFLOP/s of a few n×n×n float32 products through the backend's matmul, in `mode` (the
// backend's mode is restored).
static double matmul_peak_gflops(Device device, int64_t n, int runs, MathMode mode) {
  Tensor a = Tensor::empty({1, n, n}), b = Tensor::empty({1, n, n});
  Generator g(7);
  fill_uniform(a, g, -1, 1);
  fill_uniform(b, g, -1, 1);
  a = a.to(device);
  b = b.to(device);
  Tensor c = Tensor::empty({1, n, n}, DType::F32, device);
  Backend& be = backend_for(device);
  MathMode saved = be.math_mode();
  be.set_math_mode(mode);
  double best = 1e300;
  for (int r = 0; r < runs + 1; ++r) {
    be.synchronize();
    auto t0 = Clock::now();
    be.matmul(a, false, b, false, 1.0, 0.0, c);
    be.synchronize();
    if (r > 0) best = std::min(best, seconds_since(t0));  // the first run warms caches and threads
  }
  be.set_math_mode(saved);
  return 2.0 * n * n * n / best / 1e9;
}

// Runs `steps` more training steps (the same work as train_step) under an OpProfile and prints
// each op's share of the time, most expensive first, then the shares per op summed over fwd/bwd.
static void profile_steps(HyperClip& model, AdamW& optim, const Tensor& images, const Tensor& tokens,
                          const Tensor& eot, double lr, int steps) {
  OpProfile prof;
  Backend& be = images.backend();
  double total = 0;
  for (int s = 0; s < steps; ++s) {
    be.synchronize();
    auto t0 = Clock::now();
    model.zero_grad();
    current_tape().clear();
    prof.restart();
    ModelOutput out = model.forward(images, tokens, eot);
    double loss = out.loss.item();
    prof.mark("(forward, after the last recorded op)");
    out.loss.backward();
    prof.mark("(backward, bookkeeping)");
    std::vector<Tensor> params = model.parameters();
    clip_grad_norm(params, 1.0);
    prof.mark("optimiser: gradient clipping");
    optim.step(lr);
    clamp_logit_scale(model);
    be.synchronize();
    prof.mark("optimiser: adamw");
    total += seconds_since(t0);
    (void)loss;
  }
  std::vector<std::pair<double, std::string>> rows, by_op;
  std::map<std::string, double> op_sum;
  for (auto& [name, sec] : prof.seconds()) {
    rows.push_back({sec, name});
    bool directed = name.size() > 4 && (name.compare(name.size() - 4, 4, " fwd") == 0 ||
                                        name.compare(name.size() - 4, 4, " bwd") == 0);
    std::string op = directed ? name.substr(0, name.size() - 4) : name;
    op_sum[op] += sec;
  }
  for (auto& [op, sec] : op_sum) by_op.push_back({sec, op});
  std::sort(rows.rbegin(), rows.rend());
  std::sort(by_op.rbegin(), by_op.rend());
  std::fprintf(stderr, "profile: %d steps, %.1f ms per step\n  by op and direction:\n", steps, total / steps * 1e3);
  for (auto& [sec, name] : rows)
    if (sec / total >= 0.002) std::fprintf(stderr, "  %6.1f%%  %8.1f ms  %s\n", 100 * sec / total, sec / steps * 1e3, name.c_str());
  std::fprintf(stderr, "  by op (fwd + bwd):\n");
  for (auto& [sec, name] : by_op)
    if (sec / total >= 0.002) std::fprintf(stderr, "  %6.1f%%  %8.1f ms  %s\n", 100 * sec / total, sec / steps * 1e3, name.c_str());
}

int cmd_bench(int argc, char** argv) {
  Args a(argc, argv,
         {"config", "mode", "steps", "warmup", "threads", "device", "precision", "batch", "seed", "peak-tflops",
          "siglip-dist", "hyper-set", "bucket-mb", "captions", "tokens-out", "peak-runs"},
         {"help", "profile", "sync-bn", "no-trim"});
  if (a.flag("help")) {
    std::printf("%s", kBenchHelp);
    return 0;
  }
  std::string config_name = a.get("config");
  BenchConfig bc = bench_config(config_name);
  std::string mode = a.get("mode", "hyper");
  HC_CHECK(mode == "hyper" || mode == "baseline" || mode == "token", "--mode expects hyper, baseline or token, got '",
           mode, "'");
  int64_t steps = a.get_int("steps", 10), warmup = a.get_int("warmup", 2);
  HC_CHECK(steps >= 1 && warmup >= 0, "--steps must be >= 1 and --warmup >= 0");
  if (a.has("batch")) bc.batch = a.get_int("batch");
  HC_CHECK(bc.batch >= 2, "--batch must be at least 2 (the loss needs negatives)");
  std::string dev = a.get("device", device_name(bc.device));
  HC_CHECK(dev == "cpu" || dev == "cuda", "unknown --device '", dev, "' (expected cpu or cuda)");
  Device device = dev == "cpu" ? Device::CPU : Device::CUDA;
  DataParallelOptions dpo;
  dpo.siglip = parse_siglip_dist(a.get("siglip-dist", "gather"));
  std::string hyper_set = a.get("hyper-set", "local");
  HC_CHECK(hyper_set == "local" || hyper_set == "global", "--hyper-set expects local or global, got '", hyper_set, "'");
  dpo.global_set = hyper_set == "global";
  dpo.sync_bn = a.flag("sync-bn");
  dpo.bucket_mb = a.get_double("bucket-mb", 25);
  // The job's processes, before anything touches a GPU (a CUDA rank picks its own first).
  Communicator& comm = world_communicator(device);
  const int ranks = comm.size(), rank = comm.rank();
  HC_CHECK(bc.batch % ranks == 0, "--batch ", bc.batch, " is the global batch of the ", ranks,
           " processes and must be divisible by ", ranks);
  HC_CHECK(ranks == 1 || !a.flag("profile"), "--profile times one process; run it without mpirun");
  std::string precision = a.get("precision", "fp32");
  HC_CHECK(precision == "fp32" || precision == "bf16", "--precision expects fp32 or bf16, got '", precision, "'");
  if (device == Device::CUDA) {
    std::string why;
    HC_CHECK(cuda_available(&why), "--device cuda: ", why);
  }
  backend_for(device).set_math_mode(parse_math_mode(precision));  // bf16: products and dense convs
  int threads = static_cast<int>(a.get_int("threads", 0));
  if (threads > 0) omp_set_num_threads(threads);
  uint64_t seed = static_cast<uint64_t>(a.get_int("seed", 0));

  ModelConfig cfg;
  cfg.image = image_preset(bc.image);
  cfg.text = text_preset(bc.text);
  cfg.mode = parse_mode(mode);
  if (cfg.mode != Mode::Baseline) cfg.hyper = hyper_preset(bc.hyper);
  cfg.embed = bc.embed;
  cfg.vocab = 8192;  // the bundled tokenizer's size (SPEC §3)

  HyperClip model(cfg);
  model.init_parameters(seed);
  // A real model starts with a zero hypernetwork output layer; any values time the same.
  move_to(model, device);
  std::unique_ptr<DataParallel> parallel;
  if (ranks > 1) {
    parallel = std::make_unique<DataParallel>(comm, dpo);
    parallel->attach(model);
    parallel->broadcast_state(model);
  }
  AdamWConfig ac;
  ac.lr = 5e-4;
  ac.weight_decay = 0.1;
  AdamW optim(model.named_parameters(), ac);

  model.text->trim = !a.flag("no-trim");
  Tensor images, tokens, eot;
  random_batch(bc.batch, cfg.image.image_size, cfg.text.context, cfg.vocab, seed + 1, device, images, tokens, eot);
  std::string captions = a.get("captions", "");
  double mean_tokens = 0;
  if (!captions.empty()) {
    caption_batch(captions, bc.batch, cfg.text.context, cfg.vocab, seed + 1, device, tokens, eot, mean_tokens);
  } else {
    for (int32_t e : eot.to(Device::CPU).to_ints()) mean_tokens += e + 1;
    mean_tokens /= bc.batch;
  }
  if (a.has("tokens-out") && rank == 0) write_tokens(a.get("tokens-out"), tokens, eot, captions.empty() ? "random" : captions);
  int64_t text_length = model.text->trimmed_length(eot, cfg.text.context);
  const int64_t local = bc.batch / ranks;
  if (ranks > 1) {  // this rank's slice of the global batch
    NoGradGuard no_grad;
    images = slice(images, 0, rank * local, (rank + 1) * local);
    tokens = slice(tokens, 0, rank * local, (rank + 1) * local);
    eot = slice(eot, 0, rank * local, (rank + 1) * local);
  }

  // FLOPs: one counting forward pass (its tape is discarded).
  double forward_flops;
  {
    FlopCount count;
    ParallelForward pf;
    if (parallel) pf = parallel->forward_options();
    ModelOutput out = model.forward(images, tokens, eot, parallel ? &pf : nullptr);
    forward_flops = count.total();
  }
  current_tape().clear();
  double gflops_per_image = 3.0 * forward_flops / local / 1e9;

  Backend& be = backend_for(device);
  be.reset_peak_memory();
  std::vector<double> times;
  double loss = 0;
  comm.set_synchronous_timing(true);
  int64_t allocations_before = 0;
  for (int64_t s = 0; s < warmup + steps; ++s) {
    if (s == warmup) {
      comm.reset_stats();
      allocations_before = be.memory_stats().device_allocations;
    }
    be.synchronize();
    auto t0 = Clock::now();
    StepResult r = train_step(model, optim, images, tokens, eot, ac.lr, 1.0, parallel.get());
    be.synchronize();
    double dt = seconds_since(t0);
    if (s >= warmup) times.push_back(dt);
    loss = r.loss;
  }
  CommStats comm_stats = comm.stats();
  const double allocations_per_step =
      static_cast<double>(be.memory_stats().device_allocations - allocations_before) / std::max<int64_t>(steps, 1);
  double timed_seconds = 0;
  for (double t : times) timed_seconds += t;
  double rss = peak_rss_mb();
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                    : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  double ips = bc.batch / median;
  // CPU: a matrix-multiply peak measured in this run. GPU: the data-sheet dense peak for the
  // precision (bench/gpu_peak.h), or --peak-tflops.
  std::string peak_source = "measured";
  int peak_runs = static_cast<int>(a.get_int("peak-runs", 20));
  HC_CHECK(peak_runs >= 0, "--peak-runs must be >= 0");
  double peak = device == Device::CPU
                    ? (peak_runs ? matmul_peak_gflops(device, 1024, peak_runs, parse_math_mode(precision)) : 0.0)
                    : 1e3 * bench::gpu_peak_tflops(be.hardware_name(), precision, a.get_double("peak-tflops", 0),
                                                   &peak_source);
  // The CPU: both peaks (float32 and bf16 products), so that every row has an MFU against each.
  double peak_fp32 = 0, peak_bf16 = 0;
  if (device == Device::CPU && peak_runs > 0) {
    peak_fp32 = precision == "fp32" ? peak : matmul_peak_gflops(device, 1024, peak_runs, MathMode::FP32);
    peak_bf16 = precision == "bf16" ? peak : matmul_peak_gflops(device, 1024, peak_runs, MathMode::BF16);
  }
  if (ranks > 1) {  // every rank measured at the same time: the job's peaks
    peak = comm.sum(peak);
    peak_fp32 = comm.sum(peak_fp32);
    peak_bf16 = comm.sum(peak_bf16);
  }
  if (rank != 0) return 0;

  nlohmann::json j = {{"impl", "hyperclip"},
                      {"config", config_name},
                      {"mode", mode},
                      {"device", dev},
                      {"precision", precision},
                      {"threads", omp_get_max_threads()},
                      {"ranks", ranks},
                      {"batch", bc.batch},
                      {"steps", steps},
                      {"images_per_s", ips},
                      {"step_ms", median * 1e3},
                      {"step_ms_min", sorted.front() * 1e3},
                      {"peak_rss_mb", rss},
                      {"peak_tensor_mb", be.memory_stats().peak_bytes_in_use / 1048576.0},
                      {"allocations_per_step", allocations_per_step},
                      {"model_gflops_per_image", gflops_per_image},
                      {"peak_gflops", peak},
                      {"peak_source", peak_source},
                      {"mfu", peak > 0 ? gflops_per_image * ips / peak : 0.0},
                      {"peak_gflops_fp32", peak_fp32},
                      {"peak_gflops_bf16", peak_bf16},
                      {"mfu_fp32", peak_fp32 > 0 ? gflops_per_image * ips / peak_fp32 : 0.0},
                      {"mfu_bf16", peak_bf16 > 0 ? gflops_per_image * ips / peak_bf16 : 0.0},
                      {"final_loss", loss},
                      {"comm_share", comm_stats.seconds / timed_seconds},
                      {"comm_ms_per_step", 1e3 * comm_stats.seconds / steps},
                      {"comm_mb_per_step", comm_stats.bytes / 1048576.0 / steps},
                      {"captions", captions.empty() ? std::string("random") : captions},
                      {"text_tokens_mean", mean_tokens},
                      {"text_length", text_length},
                      {"gemm", device == Device::CPU ? cpu_gemm_library() : std::string("cublas")}};
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  if (a.flag("profile")) profile_steps(model, optim, images, tokens, eot, ac.lr, 2);
  return 0;
}

}  // namespace hc::cli
