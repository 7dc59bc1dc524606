#!/usr/bin/python3
"""Ratio summary of `make bench`: reads the JSON lines of build/hyperclip bench and
bench/torch_bench.py (a file, or stdin) and prints, per configuration and mode, engine/PyTorch
training images/s and peak memory, and each side's MFU.

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
            runs[(r["config"], r["mode"], r["impl"])] = r
    print(f"{'config':<12} {'mode':<9} {'engine img/s':>12} {'torch img/s':>11} {'speed ratio':>11} "
          f"{'engine MB':>9} {'torch MB':>9} {'memory ratio':>12} {'engine MFU':>10} {'torch MFU':>9}")
    for (config, mode, impl), e in sorted(runs.items()):
        if impl != "hyperclip" or (config, mode, "pytorch") not in runs:
            continue
        t = runs[(config, mode, "pytorch")]
        print(f"{config:<12} {mode:<9} {e['images_per_s']:>12.1f} {t['images_per_s']:>11.1f} "
              f"{e['images_per_s'] / t['images_per_s']:>11.2f} {e['peak_rss_mb']:>9.0f} {t['peak_rss_mb']:>9.0f} "
              f"{e['peak_rss_mb'] / t['peak_rss_mb']:>12.2f} {e['mfu']:>10.2f} {t['mfu']:>9.2f}")


if __name__ == "__main__":
    main()
