#!/usr/bin/python3
"""PyTorch side of the classifier benchmark: eval-mode inference (batch norms unfolded, as PyTorch
runs a trained model) of the same convnet-nano and vit-nano image towers, and of mci-nano
reparameterised as the engine exports it (tools/torch_reference.py's FoldedMCi: one conv per block, no
batch norm), plus the cosine with a 10-class matrix; batch-1 latency (median of 50) and batch-64
throughput (median of 10), one JSON line per tower, the same fields as build/bench_classifier.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/torch_classifier.py --threads 2
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_reference as R  # noqa: E402


def median_seconds(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    towers = {
        "convnet-nano": {"kind": "convnet", "width": 0.5, "depth": 0.5, "image_size": 64},
        "vit-nano": {"kind": "vit", "dim": 192, "depth": 6, "heads": 3, "patch": 8, "image_size": 64},
        "mci-nano": {"kind": "mci", "widths": [24, 48, 96, 192], "depths": [1, 1, 2, 1], "mlp_ratio": 3,
                     "image_size": 64},
    }
    for name, im in towers.items():
        if im["kind"] == "convnet":
            visual = R.ConvNet(im["width"], im["depth"], 128)
        elif im["kind"] == "mci":
            branches = R.MCi(im["widths"], im["depths"], im["mlp_ratio"], 128)
            R.init_parameters(branches, 0.0)
            R.randomise_mci_state(branches, torch.Generator().manual_seed(0))
            branches.eval()
            visual = R.FoldedMCi(branches).float()  # the fold computes in the weights' dtype
        else:
            visual = R.ViT(im["dim"], im["depth"], im["heads"], im["patch"], im["image_size"], 128)
        visual.eval()
        classes = F.normalize(torch.randn(10, 128), dim=-1)
        s = im["image_size"]
        one, many = torch.randn(1, 3, s, s), torch.randn(64, 3, s, s)

        def run(x):
            with torch.no_grad():
                return F.normalize(visual(x), dim=-1) @ classes.t()

        t1 = median_seconds(lambda: run(one), 10, 50)
        t64 = median_seconds(lambda: run(many), 2, 10)
        print(json.dumps({"impl": "pytorch", "tower": name, "image_size": s, "threads": args.threads,
                          "batch1_latency_ms": t1 * 1e3, "batch64_images_per_s": 64 / t64,
                          "torch_version": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
