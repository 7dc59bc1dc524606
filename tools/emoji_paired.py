#!/usr/bin/env python3
"""Paired comparison of two emoji-benchmark runs on the same held-out concept images.

Both runs are scored on the same 819 images, so the fair question is not "are the two accuracies
far apart" but "of the images where exactly one run is right, does one run win clearly more".
For each pair of run folders (A, B) this exports each run's standalone classifier over the concept
classes (`hyperclip export`, the dataset's templates), classifies every concept test image
(`hyperclip classify --json --topk 5`), and counts the images only A gets right and only B gets
right, at top-1 and top-5, with the exact two-sided McNemar (sign) test on those counts. Several
pairs (e.g. one per seed) are also pooled. Prints one JSON object.

Another labelled test set (class folders) is compared the same way with --test DIR: CIFAR-10's
runs with --test datasets/cifar10-jpeg/test --templates "" (the engine's default CIFAR templates, as
its training evaluated them).

    python3 tools/emoji_paired.py [--bin build/hyperclip] [--data datasets/emoji] \\
        results/emoji-long/runs/emoji-vit-nano-hyper-hyper-lr-scale-0.1-s0 results/emoji-long/runs/emoji-vit-nano-baseline-s0 \\
        results/emoji-long/runs/emoji-vit-nano-hyper-hyper-lr-scale-0.1-s1 results/emoji-long/runs/emoji-vit-nano-baseline-s1

Each run folder needs its final checkpoint, last.safetensors (kept by `make bench-emoji`, not in git),
or the <test folder>_top5.json (concept_top5.json, test_top5.json) that an earlier comparison wrote
there from it.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile


def fail(msg):
    sys.exit(f"emoji_paired: {msg}")


def class_names(concept_dir):
    # The class of a test image is its folder's name with '_' read as a space, as `hyperclip eval` reads it.
    dirs = sorted(d for d in os.listdir(concept_dir) if os.path.isdir(os.path.join(concept_dir, d)))
    if not dirs:
        fail(f"{concept_dir}: no class folders")
    return [d.replace("_", " ") for d in dirs]


def hits(binary, run, concept_dir, templates, classes_file, threads, tmp):
    """{image path: (top-1 right, top-5 right)} for one run's final checkpoint.

    Each run's top 5 classes per image are kept in the run folder (concept_top5.json, small enough for
    git) because the checkpoint is not: a later comparison against this run then needs only the other
    run's checkpoint. With the checkpoint present, the file is always rewritten from it."""
    ckpt = os.path.join(run, "last.safetensors")
    stored = os.path.join(run, os.path.basename(os.path.normpath(concept_dir)) + "_top5.json")
    if os.path.exists(ckpt):
        clf = os.path.join(tmp, "classifier.safetensors")  # overwritten by the next run
        subprocess.run([binary, "export", "--ckpt", ckpt, "--classes", classes_file,
                        *(["--templates", templates] if templates else []), "-o", clf],
                       check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([binary, "classify", "--model", clf, "--json", "--topk", "5", "--threads", str(threads),
                              concept_dir], check=True, capture_output=True, text=True).stdout
        top5 = {}
        for line in out.splitlines():
            r = json.loads(line)
            top5[os.path.relpath(r["image"], concept_dir)] = [c["class"] for c in r["top"]]
        with open(stored + ".tmp", "w") as f:
            json.dump({"data": concept_dir, "templates": templates, "top5": top5}, f, indent=0, sort_keys=True)
        os.replace(stored + ".tmp", stored)
    elif os.path.exists(stored):
        with open(stored) as f:
            saved = json.load(f)
        top5 = saved.get("top5")
        if not isinstance(top5, dict) or not top5:
            fail(f"{stored}: no 'top5' map of image -> classes")
        norm = lambda p: os.path.normpath(p) if p else p  # noqa: E731
        if (norm(saved.get("data")), norm(saved.get("templates"))) != (norm(concept_dir), norm(templates)):
            fail(f"{stored}: made on {saved.get('data')} with templates {saved.get('templates')!r}, "
                 f"not {concept_dir} with {templates!r}")
    else:
        fail(f"{ckpt}: missing, and no {os.path.basename(stored)} beside it "
             "(the run is unfinished, or its checkpoint was not kept)")
    result = {}
    for image, top in top5.items():
        truth = os.path.basename(os.path.dirname(image)).replace("_", " ")
        result[image] = (top[0] == truth, truth in top[:5])
    return result


def sign_test(a_only, b_only):
    """Exact two-sided McNemar p-value: under "no difference" each discordant image is a fair coin."""
    n, k = a_only + b_only, min(a_only, b_only)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


def compare(ha, hb, k):
    if ha.keys() != hb.keys():
        fail("the two runs classified different image sets")
    a_only = sum(ha[i][k] and not hb[i][k] for i in ha)
    b_only = sum(hb[i][k] and not ha[i][k] for i in ha)
    return {"a_right": sum(ha[i][k] for i in ha), "b_right": sum(hb[i][k] for i in hb), "n": len(ha),
            "a_only": a_only, "b_only": b_only, "p": sign_test(a_only, b_only)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="build/hyperclip")
    ap.add_argument("--data", default="datasets/emoji", help="the emoji dataset (test/concept, templates.txt)")
    ap.add_argument("--test", help="the test set's class folders (default: DATA/test/concept)")
    ap.add_argument("--templates", help="prompt templates (default: DATA/templates.txt; \"\": the engine's own)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("runs", nargs="+", help="run folders, in pairs: A1 B1 [A2 B2 ...]")
    args = ap.parse_args()
    if len(args.runs) % 2:
        fail("give run folders in pairs (A B), one pair per seed")
    concept = args.test or os.path.join(args.data, "test", "concept")
    templates = os.path.join(args.data, "templates.txt") if args.templates is None else args.templates
    for p in (args.bin, concept, templates):
        if p and not os.path.exists(p):
            fail(f"{p}: not found")
    report = {"data": concept, "pairs": []}
    pooled = {"top1": [0, 0], "top5": [0, 0]}  # [a_only, b_only] summed over the pairs
    with tempfile.TemporaryDirectory() as tmp:
        classes_file = os.path.join(tmp, "classes.txt")
        with open(classes_file, "w") as f:
            f.write("\n".join(class_names(concept)) + "\n")
        for a, b in zip(args.runs[0::2], args.runs[1::2]):
            print(f"emoji_paired: {os.path.basename(a)} against {os.path.basename(b)}", file=sys.stderr, flush=True)
            ha = hits(args.bin, a, concept, templates, classes_file, args.threads, tmp)
            hb = hits(args.bin, b, concept, templates, classes_file, args.threads, tmp)
            pair = {"a": a, "b": b}
            for k, name in ((0, "top1"), (1, "top5")):
                pair[name] = compare(ha, hb, k)
                pooled[name][0] += pair[name]["a_only"]
                pooled[name][1] += pair[name]["b_only"]
            report["pairs"].append(pair)
    if len(report["pairs"]) > 1:
        report["pooled"] = {k: {"a_only": v[0], "b_only": v[1], "p": sign_test(*v)} for k, v in pooled.items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
