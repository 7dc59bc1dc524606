#!/usr/bin/python3
"""Summary of `make bench`: reads the JSON lines of build/hyperclip bench and bench/torch_bench.py
(a file, or stdin) and prints, per configuration, mode, caption source and precision, engine and
PyTorch training images/s and their ratio, peak memory, the text length each side ran, and each
side's MFU against its own measured fp32 and bf16 matrix-product peaks; then the engine's bf16
speed-up over its own fp32 and the measured peaks.

    /usr/bin/python3 bench/bench_summary.py build/bench.jsonl
"""
import json
import sys


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    runs = {}
    for line in src:
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            key = (r["config"], r["mode"], r.get("captions", "random"), r.get("precision", "fp32"), r["impl"])
            runs[key] = r
    head = (f"{'config':<12} {'mode':<9} {'captions':<10} {'prec':<5} {'engine img/s':>12} {'torch img/s':>11} "
            f"{'ratio':>6} {'engine MB':>9} {'torch MB':>8} {'text L e/t':>10} "
            f"{'engine MFU fp32|bf16 peak':>25} {'torch MFU fp32|bf16 peak':>24}")
    print(head)
    for (config, mode, captions, prec, impl), e in sorted(runs.items()):
        if impl != "hyperclip" or (config, mode, captions, prec, "pytorch") not in runs:
            continue
        t = runs[(config, mode, captions, prec, "pytorch")]
        print(f"{config:<12} {mode:<9} {captions[:10]:<10} {prec:<5} {e['images_per_s']:>12.1f} "
              f"{t['images_per_s']:>11.1f} {e['images_per_s'] / t['images_per_s']:>6.2f} {e['peak_rss_mb']:>9.0f} "
              f"{t['peak_rss_mb']:>8.0f} {str(e.get('text_length', '?')) + '/' + str(t.get('text_length', '?')):>10} "
              f"{e.get('mfu_fp32', e['mfu']):>12.2f} | {e.get('mfu_bf16', 0):<10.2f} "
              f"{t.get('mfu_fp32', t['mfu']):>11.2f} | {t.get('mfu_bf16', 0):<10.2f}")
    print()
    print("engine bf16 / engine fp32 (images/s), and the measured matrix-product peaks (GFLOP/s):")
    for (config, mode, captions, prec, impl), e in sorted(runs.items()):
        if impl != "hyperclip" or prec != "bf16" or (config, mode, captions, "fp32", impl) not in runs:
            continue
        f = runs[(config, mode, captions, "fp32", impl)]
        t = runs.get((config, mode, captions, "bf16", "pytorch"), {})
        print(f"  {config:<12} {mode:<9} {captions[:10]:<10} bf16/fp32 {e['images_per_s'] / f['images_per_s']:.2f}   "
              f"engine peaks fp32 {e.get('peak_gflops_fp32', 0):.0f} bf16 {e.get('peak_gflops_bf16', 0):.0f}   "
              f"torch peaks fp32 {t.get('peak_gflops_fp32', 0):.0f} bf16 {t.get('peak_gflops_bf16', 0):.0f}")


if __name__ == "__main__":
    main()
