#!/usr/bin/python3
"""PyTorch side of the training benchmark (`hyperclip bench`): the same SPEC §4 configuration,
built from the independent implementation in tools/torch_reference.py, trained on one random
in-memory batch with the same step (forward, backward, clip_grad_norm_ 1.0, AdamW with the
engine's settings and decay groups, the logit-scale clamp). Prints one JSON line with the same
fields as build/hyperclip bench.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/torch_bench.py --config cpu-convnet --threads 2

model_gflops_per_image counts, like the engine, the multiply-adds of the forward matrix products
(aten mm/addmm/bmm/convolution, 2 FLOPs each) seen in one forward pass, times 3 for forward and
backward, per image. peak_gflops is the best of 20 1024×1024 float32 torch.mm in the same
process; "blas" names the BLAS library and the OpenBLAS kernel set (openblas_get_corename) it used.
Run it without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (make bench does), which pin older kernels.

--tokens FILE takes the batch's captions from `hyperclip bench --captions DATA --tokens-out FILE`:
the same token ids, padded with zeros to the full context as open_clip pads them, and the text
tower runs every position (open_clip does not trim). --precision bf16 runs the forward pass under
torch.autocast("cpu", torch.bfloat16) (products and convolutions in bf16 through oneDNN, master
weights and the optimiser in float32). peak_gflops_fp32 and peak_gflops_bf16 are the best of 20
1024×1024 torch.mm in float32 and in bfloat16; mfu_fp32 / mfu_bf16 are against each.
"""
import argparse
import ctypes
import json
import math
import os
import resource
import sys
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_reference as R  # noqa: E402

# SPEC §3 presets and §4 configurations (the same table as cli/cmd_bench.cpp).
IMAGE = {
    "convnet-nano": {"kind": "convnet", "width": 0.5, "depth": 0.5, "image_size": 64},
    "convnet-b0": {"kind": "convnet", "width": 1.0, "depth": 1.0, "image_size": 224},
    "vit-nano": {"kind": "vit", "dim": 192, "depth": 6, "heads": 3, "patch": 8, "image_size": 64},
    "vit-b16": {"kind": "vit", "dim": 768, "depth": 12, "heads": 12, "patch": 16, "image_size": 224},
    "mci-nano": {"kind": "mci", "widths": [24, 48, 96, 192], "depths": [1, 1, 2, 1], "mlp_ratio": 3, "image_size": 64},
}
TEXT = {"text-nano": {"dim": 256, "layers": 4, "heads": 4, "context": 32},
        "text-base": {"dim": 512, "layers": 12, "heads": 8, "context": 77}}
HYPER = {"hyper-nano": {"dim": 128, "layers": 2, "heads": 4, "bottleneck": 64},
         "hyper-base": {"dim": 512, "layers": 2, "heads": 8, "bottleneck": 256}}
CONFIGS = {
    "cpu-convnet": ("convnet-nano", "text-nano", "hyper-nano", 128, 128),
    "cpu-vit": ("vit-nano", "text-nano", "hyper-nano", 128, 128),
    "cpu-mci": ("mci-nano", "text-nano", "hyper-nano", 128, 128),
    "gpu-convnet": ("convnet-b0", "text-base", "hyper-base", 256, 512),
    "gpu-vit": ("vit-b16", "text-base", "hyper-base", 256, 512),
}


class MatmulFlops(TorchDispatchMode):
    """Counts 2·M·N·K of every matrix product and convolution the dispatcher sees."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.__name__.split(".")[0]
        if name in ("mm", "addmm", "bmm", "baddbmm"):
            a = args[1] if name in ("addmm", "baddbmm") else args[0]
            k = a.shape[-1]
            self.flops += 2 * out.numel() * k
        elif name == "convolution":
            w, groups = args[1], args[8]
            self.flops += 2 * out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
            del groups  # w.shape[1] is already Cin/groups
        return out


def blas_info():
    """The BLAS shared libraries mapped into this process and OpenBLAS's kernel set."""
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps")
                   if ("blas" in line or "lapack" in line) and line.split()[-1].startswith("/")})
    info = {"libraries": libs}
    for path in libs:
        if "openblas" in os.path.basename(path):
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            info["openblas_corename"] = lib.openblas_get_corename().decode()
            info["openblas_config"] = lib.openblas_get_config().decode()
            info["openblas_threads"] = lib.openblas_get_num_threads()
    return info


def set_openblas_threads(n):
    for line in open("/proc/self/maps"):
        path = line.split()[-1]
        if "openblas" in os.path.basename(path) and path.endswith(".so"):
            ctypes.CDLL(path).openblas_set_num_threads(n)
            return


def matmul_peak_gflops(n=1024, runs=20, dtype=torch.float32):
    a, b = (torch.rand(n, n) * 2 - 1).to(dtype), (torch.rand(n, n) * 2 - 1).to(dtype)
    best = float("inf")
    for r in range(runs + 1):
        t0 = time.perf_counter()
        torch.mm(a, b)
        if r > 0:
            best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, choices=sorted(CONFIGS))
    ap.add_argument("--mode", default="hyper", choices=["hyper", "baseline"])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--tokens", default="", help="tokens JSON from hyperclip bench --tokens-out (real captions)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    set_openblas_threads(args.threads)

    image, text, hyper, batch, embed = CONFIGS[args.config]
    n = args.batch or batch
    cfg = {"image": IMAGE[image], "text": TEXT[text], "hyper": HYPER[hyper], "embed": embed, "vocab": 8192,
           "mode": args.mode, "set_size": 0, "batch": n}
    torch.manual_seed(args.seed)
    model = R.HyperCLIP(cfg)
    R.init_parameters(model, 0.02)
    model.train()
    images, tokens, eot = R.make_inputs(cfg, torch.Generator().manual_seed(args.seed + 1))
    captions = "random"
    if args.tokens:
        with open(args.tokens) as f:
            t = json.load(f)
        rows, context = t["shape"]
        if rows != n or context != cfg["text"]["context"]:
            sys.exit(f"{args.tokens}: tokens {rows}x{context}, expected {n}x{cfg['text']['context']}")
        tokens = torch.tensor(t["tokens"], dtype=torch.int32).reshape(rows, context)
        eot = torch.tensor(t["eot"], dtype=torch.int32)
        captions = t["captions"]
    tokens, eot = tokens.long(), eot.long()
    autocast = args.precision == "bf16"

    named = list(model.named_parameters())
    params = [p for _, p in named]
    opt = torch.optim.AdamW(
        [{"params": [p for k, p in named if R.decays(k, p)], "weight_decay": 0.1},
         {"params": [p for k, p in named if not R.decays(k, p)], "weight_decay": 0.0}],
        lr=5e-4, betas=(0.9, 0.98), eps=1e-6)

    with MatmulFlops() as counter, torch.autocast("cpu", torch.bfloat16, enabled=autocast):
        model(images, tokens, eot)
    gflops_per_image = 3 * counter.flops / n / 1e9

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", torch.bfloat16, enabled=autocast):
            loss = model(images, tokens, eot)[3]
        loss.float().backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0.0, math.log(100.0))
        return loss.item()

    times, loss = [], 0.0
    for s in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        loss = step()
        if s >= args.warmup:
            times.append(time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    times.sort()
    m = len(times)
    median = times[m // 2] if m % 2 else 0.5 * (times[m // 2 - 1] + times[m // 2])
    ips = n / median
    peak_fp32 = matmul_peak_gflops()
    peak_bf16 = matmul_peak_gflops(dtype=torch.bfloat16)
    peak = peak_bf16 if autocast else peak_fp32
    mean_tokens = float((eot + 1).double().mean())
    print(json.dumps({
        "impl": "pytorch", "config": args.config, "mode": args.mode, "device": "cpu", "precision": args.precision,
        "threads": torch.get_num_threads(), "batch": n, "steps": args.steps,
        "images_per_s": ips, "step_ms": median * 1e3, "step_ms_min": times[0] * 1e3, "peak_rss_mb": rss_mb,
        "model_gflops_per_image": gflops_per_image, "peak_gflops": peak, "mfu": gflops_per_image * ips / peak,
        "peak_gflops_fp32": peak_fp32, "peak_gflops_bf16": peak_bf16,
        "mfu_fp32": gflops_per_image * ips / peak_fp32, "mfu_bf16": gflops_per_image * ips / peak_bf16,
        "captions": captions, "text_tokens_mean": mean_tokens, "text_length": int(tokens.shape[1]),
        "final_loss": loss, "torch_version": torch.__version__, "blas": blas_info(),
        "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ},
    }), flush=True)


if __name__ == "__main__":
    main()
