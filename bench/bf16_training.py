#!/usr/bin/python3
"""The CPU's bf16 mode in training: one fp32 run and one bf16 run of the same model on the built-in
synthetic data, same seed and thread count, then both loss curves in one plot and the comparison.

    /usr/bin/python3 bench/bf16_training.py --out results/cpu-bf16 [--steps 1000] [--threads 1]
    /usr/bin/python3 bench/bf16_training.py --out results/cpu-bf16 --report-only   # plot and summary again

The model is make demo's HyperCLIP (convnet-nano at 32 px, text-nano with a 24-token context,
hyper-nano; batch 64, lr 3e-3). Pass: the bf16 run's mean loss over its last 100 steps is within
MARGIN (2%, stated before the run) of the fp32 run's. Writes DIR/<precision>/ (metrics.jsonl, the
log, the last checkpoint), DIR/loss.png (python3-matplotlib, tools/setup_bench.sh) and
DIR/summary.json.
"""
import argparse
import json
import os
import subprocess
import sys

MARGIN = 0.02  # relative: |bf16 - fp32| / fp32 of the last-100-step mean losses


def run(binary, out, precision, steps, threads):
    d = os.path.join(out, precision)
    os.makedirs(d, exist_ok=True)
    cmd = [binary, "train", "--image", "convnet-nano", "--image-size", "32", "--text", "text-nano", "--context", "24",
           "--hyper", "hyper-nano", "--data", "synthetic", "--synthetic-size", "50000", "--steps", str(steps),
           "--batch", "64", "--lr", "3e-3", "--seed", "0", "--threads", str(threads), "--log-every", "50",
           "--eval-samples", "200", "--precision", precision, "--out", d]
    with open(os.path.join(d, "train.log"), "w") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))


def losses(out, precision):
    with open(os.path.join(out, precision, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(r["step"], r["loss"]) for r in rows if "loss" in r and "eval" not in r]


def report(out):
    curves = {p: losses(out, p) for p in ("fp32", "bf16")}
    tail = {p: sum(l for _, l in c[-100:]) / len(c[-100:]) for p, c in curves.items()}
    rel = abs(tail["bf16"] - tail["fp32"]) / tail["fp32"]
    summary = {"steps": {p: len(c) for p, c in curves.items()}, "last100_mean_loss": tail,
               "relative_difference": rel, "margin": MARGIN, "within_margin": rel <= MARGIN}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot skipped: python3-matplotlib is not installed (tools/setup_bench.sh)")
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for p, c in curves.items():
        steps = [s for s, _ in c]
        smooth = [sum(l for _, l in c[max(0, i - 24):i + 1]) / len(c[max(0, i - 24):i + 1]) for i in range(len(c))]
        ax.plot(steps, smooth, label=f"{p} (last 100 steps {tail[p]:.3f})")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (moving average of 25 steps)")
    ax.set_title("HyperCLIP convnet-nano, synthetic data, CPU: fp32 against bf16 products")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "loss.png"), dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bin", default="build/hyperclip")
    ap.add_argument("--sequential", action="store_true", help="one run after the other (default: side by side)")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    if not args.report_only:
        procs = []
        for p in ("fp32", "bf16"):
            procs.append(run(args.bin, args.out, p, args.steps, args.threads))
            if args.sequential:
                procs[-1].wait()
        for proc in procs:
            if proc.wait() != 0:
                sys.exit(f"a training run failed: see {args.out}/*/train.log")
    report(args.out)


if __name__ == "__main__":
    main()
