#!/usr/bin/python3
"""make bench-emoji: the SigLIP baseline, HyperCLIP and the token control on the multi-style emoji
benchmark (data/emoji/README.md), with convnet-nano and vit-nano, the same data, steps and seed;
then the baseline and HyperCLIP on CIFAR-10 (zero-shot on its test set).

Every run is `hyperclip train` with zero-shot evaluation of both held-out tasks at EVAL_POINTS
points; its metrics.jsonl gives the loss and accuracy curves against images seen. Writes into OUT:
results.json (one object per run; the runs of earlier invocations into the same OUT stay, so variants
accumulate and the table shows them side by side), table.md, loss.png, concept_top1.png, concept_top5.png, group_top1.png,
cifar10_top1.png, and runs/<name>/ (each run's log, metrics and last checkpoint).

Budget and setup from the environment (defaults in brackets):
  EPOCHS [10] or STEPS (overrides EPOCHS)   BATCH [128]   LR [3e-3]   IMAGE_SIZE [32]   CONTEXT [32]
  JOBS [1]   STOP_AFTER [0]: stop each run at that step of its schedule (a partial run, resumed by a later invocation)
  TRAIN_ARGS [""] (a variant, e.g. "--hyper-lr-scale 0.1"; TAG names its runs)
  SEEDS ["0"]   TOWERS ["convnet-nano vit-nano"]   MODES ["baseline hyper token"]   THREADS [2]
  IMAGE: one image tower for both benchmarks (sets TOWERS and CIFAR_TOWERS, e.g. IMAGE=mci-nano)
  EVAL_POINTS [10]   CAPTIONS [train.tsv]   DATA [datasets/emoji]   OUT [results/emoji]
  CIFAR [1]   CIFAR_EPOCHS [10] or CIFAR_STEPS   CIFAR_TOWERS ["convnet-nano"]   CIFAR_MODES ["baseline hyper"]
  CIFAR_TAR [../shared/data/cifar10-jpeg.tar.gz]   CIFAR_DIR [datasets/cifar10-jpeg]
  REPORT_ONLY=1 REEVAL=1 first evaluates each emoji run's final checkpoint again on DATA's test tasks.
  REPORT_ONLY=1 rewrites table.md and the plots from OUT/results.json without training.
  OPENBLAS_PIN [drop]: the runs start without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (as make bench does), so
    OpenBLAS picks this CPU's own kernels (AVX-512 Cooperlake on the 2-core EPYC, 1.8x the pinned Haswell
    kernels' vit-nano step rate); OPENBLAS_PIN=keep keeps a pin. The kernels round differently, so runs
    made under another pin differ from a rerun by rounding, as runs of another build do.
After each emoji run, its final checkpoint is also scored on the concept task split by Unicode group
(DATA/test/concept-groups.tsv: `hyperclip eval --task-split`, the hypernetwork seeing one group's classes
at a time) and, for HyperCLIP and the token control, given the conditioning diagnostic (`eval --diagnose`,
docs/hypernetwork.md); runs trained with --set-size also get the set-swap test (`eval --swap-test`: each
image given another set's generated parameters). table.md holds them in further tables. REPORT_ONLY=1
SPLIT=1 adds them to finished runs that lack them (their checkpoints must be there).
An epoch is one pass over the caption rows: train.tsv has four caption forms per image, so 10 epochs
show each image 40 times (results.json records both: epochs and image_epochs).
IMAGE_SIZE defaults to 32 px (the emoji are rendered at 64 px and the loader resizes) so that tens of
epochs of all six emoji runs fit a few CPU hours; IMAGE_SIZE=64 uses the full renders.
"""
import concurrent.futures
import fcntl
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tarfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(name, default):
    return os.environ.get(name, default)


# Every training and evaluation below inherits this environment (bench_reinforced.py imports this module).
if env("OPENBLAS_PIN", "drop") != "keep":
    for _pin in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(_pin, None)

BIN = env("BIN", "build/hyperclip")
DATA = env("DATA", "datasets/emoji")
OUT = env("OUT", "results/emoji")
BATCH = int(env("BATCH", "128"))
LR = env("LR", "3e-3")
IMAGE_SIZE = int(env("IMAGE_SIZE", "32"))
CONTEXT = env("CONTEXT", "32")
THREADS = env("THREADS", "2")
JOBS = int(env("JOBS", "1"))
SEEDS = env("SEEDS", "0").split()
IMAGE = env("IMAGE", "")  # `make bench-emoji IMAGE=mci-nano`: that tower alone, in both benchmarks
TOWERS = env("TOWERS", IMAGE or "convnet-nano vit-nano").split()
MODES = env("MODES", "baseline hyper token").split()
EVAL_POINTS = int(env("EVAL_POINTS", "10"))
CAPTIONS = env("CAPTIONS", "train.tsv")
TRAIN_ARGS = env("TRAIN_ARGS", "").split()  # extra `hyperclip train` options for every run (a variant)
STOP_AFTER = int(env("STOP_AFTER", "0"))  # stop each run after this many steps of its schedule (partial)
# names the variant's runs; only characters that are safe in a file name on every system
TAG = "".join(c for c in env("TAG", "-".join(a.lstrip("-") for a in TRAIN_ARGS)) if c.isalnum() or c in "._-")


def fail(msg):
    sys.exit(f"bench-emoji: {msg}")


def tsv_rows(path):
    """(caption rows, distinct images) of a training TSV (a header line "path<TAB>caption..." is no row)."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    if lines and lines[0].split("\t")[:2] == ["path", "caption"]:
        lines = lines[1:]
    paths = [line.split("\t", 1)[0] for line in lines]
    return len(paths), len(set(paths))


def run_train(name, args, steps, key):
    """Runs one training, streaming its progress lines; returns (metrics rows, wall seconds, partial).

    The run checkpoints at every evaluation point. If an earlier run with the same command (key) was
    interrupted, it resumes from its newest checkpoint (training resumes exactly, see the resume tests),
    after cutting metrics.jsonl back to that step; the wall time counts every attempt. With STOP_AFTER
    the run is stopped at the first evaluation point at or after that step (partial=True; its
    checkpoints stay, so a later invocation without STOP_AFTER finishes the same schedule)."""
    out = os.path.join(OUT, "runs", name)
    os.makedirs(out, exist_ok=True)
    eval_every = max(1, steps // EVAL_POINTS)
    cmd = [BIN, "train", *args, "--steps", str(steps), "--batch", str(BATCH), "--lr", LR, "--threads", THREADS,
           "--context", CONTEXT, "--image-size", str(IMAGE_SIZE), "--log-every", str(max(1, min(50, steps // 20))),
           "--eval-every", str(eval_every), "--ckpt-every", str(eval_every), "--out", out]
    key_path, wall_path, metrics_path = (os.path.join(out, f) for f in ("key.json", "wall.json", "metrics.jsonl"))
    ckpts = sorted(f for f in os.listdir(out) if f.startswith("step_") and f.endswith(".safetensors"))
    prior_wall = 0.0
    same = os.path.exists(key_path) and json.load(open(key_path)) == key
    if same and ckpts and os.path.exists(metrics_path):
        at = int(ckpts[-1][len("step_"):-len(".safetensors")])
        with open(metrics_path) as f:
            kept = [line for line in f if line.strip() and json.loads(line).get("step", 0) <= at]
        with open(metrics_path, "w") as f:
            f.writelines(kept)
        if os.path.exists(wall_path):
            prior_wall = json.load(open(wall_path))["wall_s"]
        cmd += ["--resume", os.path.join(out, ckpts[-1])]
        print(f"[{name}] resuming from {ckpts[-1]} (step {at} of {steps})", flush=True)
    else:
        for f in ckpts:
            os.remove(os.path.join(out, f))
        with open(key_path, "w") as f:
            json.dump(key, f)
    print(f"\n=== {name}: {steps} steps of {BATCH} ===\n$ {' '.join(cmd)}", flush=True)
    t0 = time.time()

    def record_wall():
        with open(wall_path + ".tmp", "w") as f:
            json.dump({"wall_s": prior_wall + time.time() - t0}, f)
        os.replace(wall_path + ".tmp", wall_path)

    stop_at = steps
    if STOP_AFTER and STOP_AFTER < steps:
        stop_at = min(steps, -(-STOP_AFTER // eval_every) * eval_every)  # an evaluation and checkpoint point
    stopped = False
    with open(os.path.join(out, "train.log"), "a") as log:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in p.stdout:
            log.write(line)
            if line.startswith(("step ", "eval ", "diag ", "done", "model", "train data", "eval data", "tokenizer", "resumed",
                                "set sampling", "conditioning")):
                print(f"[{name}] {line.rstrip()}", flush=True)
            if line.startswith("step "):
                record_wall()
                if stop_at < steps and int(line.split()[1].split("/")[0]) > stop_at:
                    p.terminate()  # step stop_at's evaluations and checkpoint are written
                    stopped = True
        if p.wait() != 0 and not stopped:
            record_wall()
            raise RuntimeError(f"{name} failed (exit {p.returncode}); see {out}/train.log")
    record_wall()
    wall = prior_wall + time.time() - t0
    with open(metrics_path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if stopped:
        print(f"[{name}] stopped after step {stop_at} of {steps} (STOP_AFTER={STOP_AFTER}); resumable", flush=True)
        return [r for r in rows if r.get("step", 0) <= stop_at], wall, True
    for f in os.listdir(out):  # last.safetensors stays: the finished model
        if f.startswith("step_") and f.endswith(".safetensors"):
            os.remove(os.path.join(out, f))
    return rows, wall, False


def curves(rows, eval_prefix):
    loss = [(r["step"] * BATCH, r["loss"]) for r in rows if "loss" in r]
    evals = [r for r in rows if "eval" in r and r["eval"].startswith(eval_prefix)]
    return loss, evals


def summarise(name, tower, mode, seed, dataset, steps, epochs, images, rows, wall, concept_spec, group_spec=None):
    loss, _ = curves(rows, "")
    concept = [r for r in rows if r.get("eval") == concept_spec]
    group = [r for r in rows if group_spec and r.get("eval") == group_spec]
    ips = [r["images_per_s"] for r in rows if "images_per_s" in r][1:]  # the first step includes warm-up
    diags = [r for r in rows if r.get("diag") == "conditioning"]
    last = concept[-1]
    done = max(r["step"] for r in rows if "loss" in r)  # below `steps` for a partial (STOP_AFTER) run
    return {
        "dataset": dataset, "tower": tower, "mode": mode, "variant": " ".join(TRAIN_ARGS), "seed": int(seed), "image_size": IMAGE_SIZE,
        "batch": BATCH, "steps": done, "schedule_steps": steps, "epochs": round(epochs * done / steps, 2),
        "images_seen": done * BATCH, "image_epochs": round(done * BATCH / images, 2),
        "top1": last["top1"], "top5": last["top5"], "n": last["n"],
        "group_top1": group[-1]["top1"] if group else None, "group_top5": group[-1]["top5"] if group else None,
        "mean_class_top1": last.get("mean_class_top1"), "majority": last.get("majority"),
        "group_mean_class_top1": group[-1].get("mean_class_top1") if group else None,
        "group_majority": group[-1].get("majority") if group else None,
        "final_loss": statistics.mean(l for _, l in loss[-20:]), "images_per_s": statistics.median(ips) if ips else None,
        "wall_s": round(wall, 1), "run": name, "command": command_line(),
        "curve": {"images_seen": [r["step"] * BATCH for r in concept], "top1": [r["top1"] for r in concept],
                  "top5": [r["top5"] for r in concept], "group_top1": [r["top1"] for r in group],
                  "loss_images_seen": [s for s, _ in loss], "loss": [l for _, l in loss],
                  # the conditioning diagnostic at each evaluation (hyper and token modes)
                  "diag_images_seen": [r["step"] * BATCH for r in diags], "gen_rms": [r["gen_rms"] for r in diags],
                  "train_spread_rel": [r["train_spread_rel"] for r in diags],
                  "task_pairwise_rel": [r["task_pairwise_mean_rel"] for r in diags]},
    }


def make_spec(dataset, tower, mode, seed, data_args, steps, epochs, images, concept, group=None):
    """One run: the tower and mode's model options, the data options, the variant's TRAIN_ARGS."""
    hyper = ["--hyper", "none"] if mode == "baseline" else ["--hyper", "hyper-nano", "--mode", mode]
    args = ["--image", tower, "--text", "text-nano", *hyper, *data_args, "--seed", seed, *TRAIN_ARGS]
    return dict(name=f"{dataset}-{tower}-{mode}{'-' + TAG if TAG else ''}-s{seed}", tower=tower, mode=mode, seed=seed,
                dataset=dataset, args=args, steps=steps, epochs=epochs, images=images, concept=concept, group=group)


def emoji_specs():
    """One spec per emoji run: seeds x towers x modes, the same data, steps and seed."""
    tsv = os.path.join(DATA, CAPTIONS)
    for p in (tsv, os.path.join(DATA, "test/concept"), os.path.join(DATA, "test/group")):
        if not os.path.exists(p):
            fail(f"{p} is missing: build the dataset first (make data-emoji)")
    rows, images = tsv_rows(tsv)
    per_epoch = rows // BATCH
    steps = int(env("STEPS", "0")) or int(env("EPOCHS", "10")) * per_epoch
    epochs = steps / per_epoch
    print(f"emoji: {rows} caption rows of {images} images, {per_epoch} steps per epoch; {steps} steps = {epochs:.1f} epochs "
          f"({steps * BATCH / images:.1f} passes over the images) per run, "
          f"{len(TOWERS) * len(MODES) * len(SEEDS)} runs", flush=True)
    concept, group = f"folder:{DATA}/test/concept", f"folder:{DATA}/test/group"
    data_args = ["--data", f"tsv:{tsv}", "--eval-data", concept, "--eval-data", group,
                 "--templates", os.path.join(DATA, "templates.txt")]
    return [make_spec("emoji", tower, mode, seed, data_args, steps, epochs, images, concept, group)
            for seed in SEEDS for tower in TOWERS for mode in MODES]


def cifar_specs():
    """The baseline and HyperCLIP on CIFAR-10's training images, zero-shot on its test set."""
    tar, cdir = env("CIFAR_TAR", os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz")), env("CIFAR_DIR", "datasets/cifar10-jpeg")
    if not os.path.isdir(os.path.join(cdir, "test")):
        if not os.path.exists(tar):
            print(f"cifar10: {tar} not found, CIFAR-10 part skipped", flush=True)
            return []
        print(f"cifar10: extracting {tar} into {cdir}", flush=True)
        os.makedirs(cdir, exist_ok=True)
        with tarfile.open(tar) as t:
            t.extractall(cdir)
    n_train = sum(len(files) for _, _, files in os.walk(os.path.join(cdir, "train")))
    per_epoch = n_train // BATCH
    steps = int(env("CIFAR_STEPS", "0")) or int(env("CIFAR_EPOCHS", "10")) * per_epoch
    print(f"cifar10: {n_train} training images, {steps} steps = {steps / per_epoch:.1f} epochs per run", flush=True)
    test = f"folder:{cdir}/test"
    data_args = ["--data", f"folder:{cdir}/train", "--eval-data", test]
    return [make_spec("cifar10", tower, mode, seed, data_args, steps, steps / per_epoch, n_train, test)
            for seed in SEEDS for tower in env("CIFAR_TOWERS", IMAGE or "convnet-nano").split()
            for mode in env("CIFAR_MODES", "baseline hyper").split()]


FAILED = threading.Event()  # set by the first failed run: the runs not yet started are skipped


def run_spec(spec):
    """Trains one run, or reuses its summary when a finished run with the same command is already in OUT
    (so an interrupted benchmark continues where it stopped)."""
    summary_path = os.path.join(OUT, "runs", spec["name"], "summary.json")
    key = {"args": spec["args"], "steps": spec["steps"], "batch": BATCH, "lr": LR, "image_size": IMAGE_SIZE,
           "context": CONTEXT, "threads": THREADS}
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            done = json.load(f)
        if done.get("key") == key:
            print(f"[{spec['name']}] already finished, reusing {summary_path}", flush=True)
            return done["result"]
    if FAILED.is_set():
        return None
    try:
        rows, wall, partial = run_train(spec["name"], spec["args"], spec["steps"], key)
    except BaseException:
        FAILED.set()
        raise
    result = summarise(spec["name"], spec["tower"], spec["mode"], spec["seed"], spec["dataset"], spec["steps"], spec["epochs"],
                       spec["images"], rows, wall, spec["concept"], spec["group"])
    if partial:  # no summary: the next invocation resumes the run
        return result
    if spec["dataset"] == "emoji":
        split_and_diagnose(result)
    with open(summary_path + ".tmp", "w") as f:
        json.dump({"key": key, "result": result}, f)
    os.replace(summary_path + ".tmp", summary_path)
    return result


def run_all(specs):
    """Runs the specs JOBS at a time (each with THREADS threads); results in spec order. On this 2-core
    machine two 1-thread runs side by side train about 30% more images per second in total than one
    2-thread run, because a single small step does not keep two cores busy."""
    results = [None] * len(specs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        futures = {pool.submit(run_spec, s): i for i, s in enumerate(specs)}
        for fut in concurrent.futures.as_completed(futures):  # a failure raises here; runs in flight finish
            results[futures[fut]] = fut.result()
            save([r for r in results if r is not None])
    return results


def merge_records(old, new, key):
    """The records of `old` with each record of `new` replacing the one with the same key(r), or appended."""
    merged, ids = list(old), [key(r) for r in old]
    for r in new:
        if key(r) in ids:
            merged[ids.index(key(r))] = r
        else:
            merged.append(r)
            ids.append(key(r))
    return merged


def update_json(path, update, empty):
    """Rewrites the JSON file `path` as update(its contents, or `empty` when there is none) and returns the
    new contents. Several invocations may train side by side into one OUT and finish together: the
    read-update-write holds an exclusive lock, so none drops another's records, and the file is replaced
    atomically."""
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = empty
        if os.path.exists(path):
            with open(path) as f:
                old = json.load(f)
        new = update(old)
        with open(path + ".tmp", "w") as f:
            json.dump(new, f, indent=1)
        os.replace(path + ".tmp", path)
    return new


def save(results):
    """Writes OUT/results.json, keeping the runs of earlier invocations into the same OUT (other variants,
    towers or modes) and returning the merged list; a run done again replaces its entry."""
    return update_json(os.path.join(OUT, "results.json"),
                       lambda old: merge_records(old, results, lambda r: r["run"]), [])


def command_line():
    """The `make bench-emoji` command with the knobs set in the environment (recorded in each result)."""
    knobs = ["STEPS", "EPOCHS", "JOBS", "SEEDS", "IMAGE", "IMAGE_SIZE", "BATCH", "LR", "THREADS", "TOWERS", "MODES", "CAPTIONS", "EVAL_POINTS",
             "TRAIN_ARGS", "TAG", "STOP_AFTER", "CIFAR", "CIFAR_STEPS", "CIFAR_EPOCHS", "CIFAR_TOWERS", "CIFAR_MODES", "OUT", "DATA"]
    setting = " ".join(f"{k}={json.dumps(os.environ[k]) if ' ' in os.environ[k] else os.environ[k]}" for k in knobs if k in os.environ)
    return f"{(setting + ' ') if setting else ''}make bench-emoji"


def mean_sd(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    if len(xs) == 1:
        return f"{100 * xs[0]:.1f}"
    return f"{100 * statistics.mean(xs):.1f} ± {100 * statistics.stdev(xs):.1f}"


def partial_note(r):
    sched = r.get("schedule_steps", r["steps"])
    return f" (stopped: step {r['steps']}/{sched})" if r["steps"] < sched else ""


def shell_lines(command, width=96):
    """A shell command as lines of at most ~width characters, continued with backslashes."""
    words, line, out = [], "", []
    for w in shlex.split(command):
        if "=" in w and " " in w:  # KEY="a b": keep the quotes
            k, v = w.split("=", 1)
            w = f'{k}="{v}"'
        if words and words[-1] == "make":  # "make target" stays on one line
            words[-1] += " " + w
        else:
            words.append(w)
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            out.append(line + " \\")
            line = "    " + w
        else:
            line = f"{line} {w}" if line else w
    out.append(line)
    return out


def variant_label(k, variants):
    """A table row's mode and variant, e.g. "hyper v2": `variants` numbers the TRAIN_ARGS (table_lines lists
    them under its first table, and every table of the report uses the same numbers)."""
    return f"{k[2]} v{variants.index(k[3]) + 1}" if k[3] else k[2]


def table_lines(results):
    """The markdown table of results (one row per data, tower, mode and variant; mean ± sd over
    seeds), then the commands that made them, each in a shell block."""
    one_dataset = len({r["dataset"] for r in results}) == 1  # then the section names it, not a column
    lines = [("" if one_dataset else "| data ") + "| tower | mode | seeds | top-1 % | top-5 % | group top-1 % | group mc top-1 % | "
             "image passes | images seen | img/s | wall s |",
             "|---" * (11 if one_dataset else 12) + "|"]
    keys = []
    for r in results:
        k = (r["dataset"], r["tower"], r["mode"], r.get("variant", ""))
        if k not in keys:
            keys.append(k)
    # The variants' TRAIN_ARGS are long: the tables name them v1, v2, ..., listed below the first one.
    variants = []
    for k in keys:
        if k[3] and k[3] not in variants:
            variants.append(k[3])
    for k in keys:
        rs = [r for r in results if (r["dataset"], r["tower"], r["mode"], r.get("variant", "")) == k]
        lines.append(("" if one_dataset else f"| {k[0]} ") +
                     f"| {k[1]} | {variant_label(k, variants)} | {len(rs)} | {mean_sd([r['top1'] for r in rs])} | "
                     f"{mean_sd([r['top5'] for r in rs])} | {mean_sd([r['group_top1'] for r in rs])} | "
                     f"{mean_sd([r.get('group_mean_class_top1') for r in rs])} | {rs[0].get('image_epochs', '–')}{partial_note(rs[0])} | "
                     f"{rs[0]['images_seen']} | "
                     f"{statistics.median(r['images_per_s'] for r in rs):.0f} | {statistics.mean(r['wall_s'] for r in rs):.0f} |")
    commands = []
    for r in results:
        c = r.get("command", command_line())
        if c not in commands:
            commands.append(c)
    majority = sorted({round(100 * r["group_majority"], 1) for r in results if r.get("group_majority")})
    lines += ["",
              "Top-1/top-5: the concept task on the held-out family; group: the 9 Unicode groups; CIFAR-10: its test set;",
              "mean ± sd over seeds. Group mc top-1 (mean-class) averages each group's top-1, so the frequent groups do not",
              "inflate it (chance 11.1%)" + (f"; always answering the most frequent group scores "
                                            f"{', '.join(map(str, majority))}% group top-1." if majority else "."),
              ""] + (["Variants (TRAIN_ARGS):"] + [f"- v{i + 1}: `{v}`" for i, v in enumerate(variants)] + [""]
                     if variants else []) + [
              f"Made by {'these commands, in order' if len(commands) > 1 else 'this command'}:",
              "",
              "```sh"]
    for c in commands:
        lines += shell_lines(c)
    lines.append("```")
    lines += conditioning_table(results, keys, variants)
    return lines


def table(results):
    lines = table_lines(results)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


def conditioning_table(results, keys, variants):
    """Per-group concept tasks, training loss and the conditioning diagnostic, one row per variant (mean ± sd
    over seeds); empty when no run has the per-group figures."""
    rows = [r for r in results if r.get("split")]
    if not rows:
        return []
    groups = []
    for r in rows:
        for g in r["split"]["tasks"]:
            if g not in groups:
                groups.append(g)

    def sd(xs, scale=1.0, fmt="{:.1f}"):
        xs = [scale * x for x in xs if x is not None]
        if not xs:
            return "–"
        if len(xs) == 1:
            return fmt.format(xs[0])
        return f"{fmt.format(statistics.mean(xs))} ± {fmt.format(statistics.stdev(xs))}"

    # Two tables, so that each fits a 160-column terminal: the per-group concept tasks, then the
    # training loss and the conditioning diagnostic.
    out = ["", "Per-group concept tasks of the final checkpoint (top-1 %; the hypernetwork sees one Unicode group's",
           "classes at a time):", "",
           "| tower | mode | seeds | concept top-1 % | group mean top-1 % | group mean top-5 % | " + " | ".join(groups) + " |",
           "|---|---|---|---|---|---|" + "---|" * len(groups)]
    diag = ["", "Training loss and the conditioning diagnostic of the final checkpoint (distances relative to the rms of",
            "the generated parameters; docs/hypernetwork.md):", "",
            "| tower | mode | seeds | loss (last 20 steps) | generated rms | spread over training sets | "
            "group tasks from training mean (max) | between group tasks (mean) |",
            "|---|---|---|---|---|---|---|---|"]
    swap = ["", "The set-swap test (`eval --swap-test`, docs/hypernetwork.md): the first 8 training batches (4 sets of 32)",
            "replayed, each image given its own set's generated parameters, then each other set's; where the best-scoring",
            "caption of the batch lies (chance 25%), and whether the image's own caption is the best of its set",
            "(A: own parameters; B: another set's):", "",
            "| tower | mode | seeds | loss A | loss B | best in own set % A | ... B | best in parameters' set % B | "
            "own caption best of set % A | ... B |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for k in keys:
        rs = [r for r in rows if (r["dataset"], r["tower"], r["mode"], r.get("variant", "")) == k]
        if not rs:
            continue
        d = [r.get("diag") or {} for r in rs]
        head = [k[1], variant_label(k, variants), str(len(rs))]
        cells = head + [sd([r["top1"] for r in rs], 100), sd([r["split"]["mean_top1"] for r in rs], 100),
                        sd([r["split"]["mean_top5"] for r in rs], 100)]
        cells += [sd([r["split"]["tasks"].get(g, {}).get("top1") for r in rs], 100) for g in groups]
        out.append("| " + " | ".join(cells) + " |")
        cells = head + [sd([r["final_loss"] for r in rs], fmt="{:.2f}"), sd([x.get("gen_rms") for x in d], fmt="{:.3g}"),
                        sd([x.get("train_spread_rel") for x in d], fmt="{:.1e}"),
                        sd([max(x["group_tasks_from_train_rel"].values()) if x.get("group_tasks_from_train_rel") else None
                            for x in d], fmt="{:.1e}"),
                        sd([x.get("group_pairwise_mean_rel") for x in d], fmt="{:.1e}")]
        diag.append("| " + " | ".join(cells) + " |")
        w = [r["swap"] for r in rs if r.get("swap")]
        if w:
            pct = lambda key: sd([x[key] for x in w], 100)  # noqa: E731
            swap.append("| " + " | ".join(head + [sd([x["loss_own"] for x in w], fmt="{:.2f}"),
                                                  sd([x["loss_swapped"] for x in w], fmt="{:.2f}"),
                                                  pct("set_top1_own"), pct("set_top1_swapped"), pct("follows_params"),
                                                  pct("in_set_top1_own"), pct("in_set_top1_swapped")]) + " |")
    out += diag
    if len(swap) > 5:
        out += swap
    return out


def plots(results):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plots skipped: python3-matplotlib is not installed (tools/setup_bench.sh)")
        return
    style = {"baseline": "-", "hyper": "--", "token": ":"}
    # one colour per tower, mode and variant (several variants of one tower would share a colour
    # otherwise); seeds of the same series share its colour and differ in their marker
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
               "tab:olive", "tab:cyan", "tab:gray"]
    series = []
    for r in results:
        k = (r["tower"], r["mode"], r.get("variant", ""))
        if k not in series:
            series.append(k)
    colour = {k: palette[i % len(palette)] for i, k in enumerate(series)}
    markers = [".", "x", "^", "s", "v"]

    def smooth(ys, k=25):
        out, acc = [], []
        for y in ys:
            acc.append(y)
            acc = acc[-k:]
            out.append(sum(acc) / len(acc))
        return out

    figs = [("loss.png", "emoji", "loss", "training loss (moving average of 25 steps)"),
            ("concept_top1.png", "emoji", "top1", "zero-shot concept top-1 (held-out family)"),
            ("concept_top5.png", "emoji", "top5", "zero-shot concept top-5 (held-out family)"),
            ("group_top1.png", "emoji", "group_top1", "zero-shot group top-1 (held-out family)"),
            ("cifar10_top1.png", "cifar10", "top1", "CIFAR-10 zero-shot top-1 (test set)")]
    for fname, dataset, key, title in figs:
        rs = [r for r in results if r["dataset"] == dataset]
        if not rs:
            continue
        plt.figure(figsize=(10, 4.5))
        for r in rs:
            label = f"{r['tower']} {r['mode']}{' ' + r['variant'] if r.get('variant') else ''} s{r['seed']}"
            c = colour[(r["tower"], r["mode"], r.get("variant", ""))]
            if key == "loss":
                plt.plot(r["curve"]["loss_images_seen"], smooth(r["curve"]["loss"]), style.get(r["mode"], "-"),
                         color=c, label=label, linewidth=1)
            else:
                plt.plot(r["curve"]["images_seen"], r["curve"][key], style.get(r["mode"], "-"),
                         marker=markers[int(r["seed"]) % len(markers)], color=c, label=label)
        plt.xlabel("images seen")
        plt.ylabel(key.replace("_", " "))
        plt.title(title)
        plt.grid(alpha=0.3)
        plt.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: many runs would hide the curves
        plt.tight_layout()
        plt.savefig(os.path.join(OUT, fname), dpi=110)
        plt.close()
        print(f"plot: {os.path.join(OUT, fname)}")


def split_and_diagnose(r):
    """The concept task split by Unicode group (each group's classes a task of its own; the hypernetwork
    sees one group at a time) and, with a hypernetwork, the conditioning diagnostic over the whole task and
    the group tasks, from the run's final checkpoint: into r["split"] and r["diag"]."""
    ckpt = os.path.join(OUT, "runs", r["run"], "last.safetensors")
    split_file = os.path.join(DATA, "test", "concept-groups.tsv")
    if not os.path.exists(split_file):
        print(f"[{r['run']}] {split_file} is missing (a dataset built before the group files): no per-group tasks", flush=True)
        return
    if not os.path.exists(ckpt):
        fail(f"{ckpt} is missing: cannot score the per-group tasks")
    concept = f"folder:{DATA}/test/concept"
    cmd = [BIN, "eval", "--ckpt", ckpt, "--data", concept, "--templates", os.path.join(DATA, "templates.txt"),
           "--task-split", split_file, "--threads", THREADS]
    if r["mode"] != "baseline":
        cmd.append("--diagnose")
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"per-group evaluation of {r['run']} failed: {out.stderr.strip()}")
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    split = next(j for j in lines if "task_split" in j)
    r["split"] = {"tasks": {t["task"]: {k: t[k] for k in ("classes", "top1", "top5", "n")} for t in split["tasks"]},
                  "mean_top1": split["mean_top1"], "mean_top5": split["mean_top5"]}
    diag = next((j for j in lines if j.get("diag") == "conditioning"), None)
    if diag:
        groups = {k: v["from_train_rel"] for k, v in diag["tasks"].items() if " | " in k}
        r["diag"] = {k: diag[k] for k in ("gen_rms", "train_spread_rel", "random_from_train_rel", "task_pairwise_mean_rel",
                                          "task_pairwise_max_rel", "sets", "set_size")}
        r["diag"]["group_tasks_from_train_rel"] = groups
        between = [p["rel"] for p in diag["pairs"] if " | " in p["a"] and " | " in p["b"]]
        r["diag"]["group_pairwise_mean_rel"] = statistics.mean(between) if between else None
        r["diag"]["trace"] = diag["trace"]
    swap_test(r)
    print(f"[{r['run']}] per-group concept tasks: mean top-1 {100 * split['mean_top1']:.2f}% top-5 {100 * split['mean_top5']:.2f}%"
          + (f"; generated rms {diag['gen_rms']:.3g}, spread over training sets {diag['train_spread_rel']:.2e} of it, "
             f"between group tasks {r['diag']['group_pairwise_mean_rel']:.2e}" if diag else ""), flush=True)


def swap_test(r):
    """The set-swap test (eval --swap-test) of a run trained with --set-size, into r["swap"]: the first 8
    training batches replayed, each image given its own set's and then every other set's parameters."""
    words = r.get("variant", "").split()
    if "--set-size" not in words or int(words[words.index("--set-size") + 1]) >= r["batch"]:
        return  # no sets, or one set per batch: nothing to swap
    ckpt = os.path.join(OUT, "runs", r["run"], "last.safetensors")
    if not os.path.exists(ckpt):
        fail(f"{ckpt} is missing: cannot run the set-swap test")
    out = subprocess.run([BIN, "eval", "--ckpt", ckpt, "--swap-test", "--swap-batches", "8", "--threads", THREADS],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"set-swap test of {r['run']} failed: {out.stderr.strip()}")
    j = next(json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))
    r["swap"] = {k: v for k, v in j.items() if k not in ("ckpt", "diag")}
    print(f"[{r['run']}] {out.stderr.strip().splitlines()[-1]}", flush=True)


def reevaluate(results):
    """REEVAL=1 (with REPORT_ONLY=1): evaluates each emoji run's final checkpoint again on DATA's test
    tasks as they are now, and puts those figures in the table (the curves keep the figures measured
    during training; `reeval` records what was done)."""
    for r in results:
        if r["dataset"] != "emoji":
            continue
        ckpt = os.path.join(OUT, "runs", r["run"], "last.safetensors")
        if not os.path.exists(ckpt):
            fail(f"REEVAL: {ckpt} is missing")
        concept, group = f"folder:{DATA}/test/concept", f"folder:{DATA}/test/group"
        cmd = [BIN, "eval", "--ckpt", ckpt, "--data", concept, "--data", group, "--templates",
               os.path.join(DATA, "templates.txt"), "--threads", THREADS]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            fail(f"REEVAL of {r['run']} failed: {out.stderr.strip()}")
        got = {j["data"]: j for j in (json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))}
        before = (r["top1"], r["top5"], r["n"], r["group_top1"])
        r["top1"], r["top5"], r["n"] = got[concept]["top1"], got[concept]["top5"], got[concept]["n"]
        r["group_top1"], r["group_top5"] = got[group]["top1"], got[group]["top5"]
        r["mean_class_top1"], r["majority"] = got[concept]["mean_class_top1"], got[concept]["majority"]
        r["group_mean_class_top1"], r["group_majority"] = got[group]["mean_class_top1"], got[group]["majority"]
        during = r.get("reeval", {}).get("during_training") or {"top1": before[0], "top5": before[1], "n": before[2],
                                                                 "group_top1": before[3]}  # kept from a first REEVAL
        r["reeval"] = {"data": DATA, "during_training": during}
        print(f"reeval {r['run']}: concept top-1 {100 * r['top1']:.2f}% top-5 {100 * r['top5']:.2f}% (n {r['n']}), "
              f"group top-1 {100 * r['group_top1']:.2f}%; during training {100 * during['top1']:.2f}% / "
              f"{100 * during['top5']:.2f}% (n {during['n']}), group {100 * during['group_top1']:.2f}%", flush=True)


def main():
    os.chdir(ROOT)
    if not os.access(BIN, os.X_OK):
        fail(f"{BIN} not found: run make first")
    os.makedirs(OUT, exist_ok=True)
    if env("REPORT_ONLY", "0") == "1":  # table and plots again from OUT/results.json
        with open(os.path.join(OUT, "results.json")) as f:
            results = json.load(f)
        if env("REEVAL", "0") == "1":
            reevaluate(results)
            results = save(results)
        if env("SPLIT", "0") == "1":
            for r in results:
                if r["dataset"] == "emoji" and "split" not in r:
                    split_and_diagnose(r)
                if r["dataset"] == "emoji" and "swap" not in r:
                    swap_test(r)
            results = save(results)
        table(results)
        plots(results)
        return
    t0 = time.time()
    specs = emoji_specs()
    if env("CIFAR", "1") != "0":
        specs += cifar_specs()
    print(f"{len(specs)} runs, {JOBS} at a time with {THREADS} threads each", flush=True)
    try:
        results = run_all(specs)
    except RuntimeError as e:
        fail(str(e))
    merged = save(results)
    table(merged)
    plots(merged)
    print(f"\nbench-emoji: {len(results)} runs in {time.time() - t0:.0f}s; results in {OUT}/")


if __name__ == "__main__":
    main()
