#!/usr/bin/python3
"""PyTorch side of the GPU training benchmarks (SPEC §4 gpu-convnet and gpu-vit): training steps
(forward, backward, gradient clipping, AdamW, the logit-scale clamp) of the independent PyTorch
HyperCLIP in tools/torch_reference.py, inputs already on the GPU, batch 256, eager and
torch.compile, fp32 and bf16 autocast. Prints one JSON line per (config, impl, precision):
  {"config", "impl": "torch-eager"|"torch-compile", "precision", "batch", "images_per_s",
   "step_ms", "model_tflop_per_step", "achieved_tflops", "peak_tflops", "peak_source", "mfu",
   "device", "torch"}
MFU = model FLOPs per step (counted once with torch.utils.flop_counter on the fp32 eager step:
matrix products and convolutions, forward and backward) x steps/s / the GPU's dense peak for the
precision (bench/gpu_peak.h; --peak-tflops overrides). fp32 runs disable TF32 in cuBLAS and cuDNN
(the engine's fp32 mode never uses it), so fp32 is compared with the plain FP32 peak.

    /usr/bin/python3 bench/torch_gpu_bench.py [--config gpu-convnet|gpu-vit|all] [--steps 20]
"""
import argparse
import json
import os
import re
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_reference as ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# SPEC §3 presets, in torch_reference's configuration layout.
TEXT_BASE = {"dim": 512, "layers": 12, "heads": 8, "context": 77}
HYPER_BASE = {"dim": 512, "layers": 2, "heads": 8, "bottleneck": 256}
CONFIGS = {
    "gpu-convnet": {"kind": "convnet", "width": 1.0, "depth": 1.0, "image_size": 224},
    "gpu-vit": {"kind": "vit", "dim": 768, "depth": 12, "heads": 12, "patch": 16, "image_size": 224},
}


def gpu_peaks():
    """The table of bench/gpu_peak.h: [(match, label, fp32, tf32, bf16)]."""
    rows = []
    pat = re.compile(r'\{"([^"]+)",\s*"([^"]+)",\s*([\d.]+),\s*([\d.]+),\s*([\d.]+)\}')
    with open(os.path.join(HERE, "gpu_peak.h")) as f:
        for line in f:
            m = pat.search(line)
            if m:
                rows.append((m.group(1), m.group(2), float(m.group(3)), float(m.group(4)), float(m.group(5))))
    return rows


def peak_for(device_name, precision, override):
    if override > 0:
        return override, "override"
    for match, label, fp32, _tf32, bf16 in gpu_peaks():
        if match in device_name:
            return (bf16 if precision == "bf16" else fp32), label
    return 0.0, "unknown"


def make_model(name, batch):
    cfg = {"image": CONFIGS[name], "text": TEXT_BASE, "hyper": HYPER_BASE, "embed": 512, "vocab": 8192,
           "mode": "hyper", "set_size": 0, "batch": batch}
    torch.manual_seed(0)
    model = ref.HyperCLIP(cfg)
    ref.init_parameters(model, 0.0)
    with torch.device("cpu"):  # make_inputs draws from a CPU generator
        images, tokens, eot = ref.make_inputs(cfg, torch.Generator(device="cpu").manual_seed(1))
    return model, images, tokens.long(), eot.long()


def make_step(model, precision, compiled):
    named = list(model.named_parameters())
    opt = torch.optim.AdamW(
        [{"params": [p for k, p in named if ref.decays(k, p)], "weight_decay": 0.1},
         {"params": [p for k, p in named if not ref.decays(k, p)], "weight_decay": 0.0}],
        lr=5e-4, betas=(0.9, 0.98), eps=1e-6)
    fwd = torch.compile(model) if compiled else model
    params = [p for _, p in named]

    def step(images, tokens, eot):
        opt.zero_grad(set_to_none=True)
        if precision == "bf16":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = fwd(images, tokens, eot)[3]
        else:
            loss = fwd(images, tokens, eot)[3]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0.0, 4.605170185988092)
        return loss

    return step


def count_flops(name, batch):
    """Model FLOPs of one training step (forward + backward), fp32 eager."""
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:
        return 0.0
    model, images, tokens, eot = make_model(name, batch)
    model = model.cuda().train()
    images, tokens, eot = images.cuda(), tokens.cuda(), eot.cuda()
    with FlopCounterMode(display=False) as counter:
        loss = model(images, tokens, eot)[3]
        loss.backward()
    del model
    torch.cuda.empty_cache()
    return float(counter.get_total_flops())


def run(name, impl, precision, batch, warmup, steps, flops, override):
    model, images, tokens, eot = make_model(name, batch)
    model = model.cuda().train()
    images, tokens, eot = images.cuda(), tokens.cuda(), eot.cuda()
    step = make_step(model, precision, impl == "torch-compile")
    for _ in range(warmup):  # includes compilation for torch.compile
        step(images, tokens, eot)
    torch.cuda.synchronize()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step(images, tokens, eot)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    device = torch.cuda.get_device_name()
    peak, source = peak_for(device, precision, override)
    achieved = flops / median / 1e12 if flops else 0.0
    out = {"config": name, "impl": impl, "precision": precision, "batch": batch,
           "images_per_s": round(batch / median, 2), "step_ms": round(median * 1e3, 3),
           "model_tflop_per_step": round(flops / 1e12, 4), "achieved_tflops": round(achieved, 2),
           "peak_tflops": peak, "peak_source": source,
           "mfu": round(achieved / peak, 4) if peak and flops else None, "device": device,
           "torch": torch.__version__}
    print(json.dumps(out), flush=True)
    del model, step
    torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="all", choices=["all"] + list(CONFIGS))
    ap.add_argument("--impl", default="all", choices=["all", "torch-eager", "torch-compile"])
    ap.add_argument("--precision", default="all", choices=["all", "fp32", "bf16"])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--peak-tflops", type=float, default=0.0, help="override the GPU's peak (TFLOP/s)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_gpu_bench.py: PyTorch sees no GPU (torch.cuda.is_available() is False)")
    if not hasattr(torch, "set_default_device"):
        sys.exit("torch_gpu_bench.py: needs PyTorch >= 2.0 (torch.set_default_device), found " + torch.__version__)
    # tools/torch_reference.py makes its masks and index vectors with the default device.
    torch.set_default_device("cuda")
    configs = list(CONFIGS) if args.config == "all" else [args.config]
    impls = ["torch-eager", "torch-compile"] if args.impl == "all" else [args.impl]
    precisions = ["fp32", "bf16"] if args.precision == "all" else [args.precision]
    for name in configs:
        flops = count_flops(name, args.batch)
        for precision in precisions:
            # fp32 means fp32: no TF32 in matrix products or convolutions (as the engine).
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = precision != "fp32"
            for impl in impls:
                run(name, impl, precision, args.batch, args.warmup, args.steps, flops, args.peak_tflops)


if __name__ == "__main__":
    main()
