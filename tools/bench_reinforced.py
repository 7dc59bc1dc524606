#!/usr/bin/python3
"""make bench-reinforced: multi-modal reinforced training (SPEC 2.2, docs/reinforced.md) on the emoji
benchmark, and optionally CIFAR-10: how many images a student needs when it learns from stored teacher
embeddings, against plain contrastive training at the same schedule.

For each dataset (emoji; CIFAR-10 with CIFAR=1; DATASETS picks them by name):
  1. teachers: TEACHERS="CKPT ..." (emoji only), or trained here as bench-emoji trains its runs:
     TEACHER_TOWERS x TEACHER_MODE for TEACHER_STEPS steps, with their own zero-shot curves;
  2. `hyperclip reinforce` with every teacher (an ensemble), AUGMENTATIONS views per image; its wall
     time, per image and per view and teacher, is recorded;
  3. students: STUDENT_TOWERS x STUDENT_MODES, plain (no --reinforced) and reinforced at each
     distillation weight in WEIGHTS, STEPS steps of BATCH each, zero-shot at EVAL_POINTS points.
Writes into OUT: results.json ({"teachers", "reinforce", "students"}; the records of earlier invocations
into the same OUT stay, a run done again replaces its own), table.md (with the learning-
efficiency ratios: the images seen a reinforced student needs to reach the plain run's final top-5
(top-1 on CIFAR-10, whose top-5 of 10 classes is near 90% from the start), against the plain run's),
concept_top5.png, concept_top1.png, group_top1.png, cifar10_top1.png against images seen, runs/<name>/
(logs, metrics, checkpoints) and reinforced-<dataset>-r<R>[-<REINFORCED_TAG>]/ (the reinforced dataset).

Knobs from the environment (defaults in brackets):
  DATA [datasets/emoji]  CAPTIONS [train.tsv]  OUT [results/reinforced]  BATCH [128]  LR [3e-3]
  IMAGE_SIZE [32]  CONTEXT [32]  THREADS [1]  JOBS [2]  EVAL_POINTS [10]  SEEDS ["0"]
  TEACHERS [""]  TEACHER_TOWERS ["convnet-nano vit-nano"]  TEACHER_MODE [baseline]  TEACHER_STEPS [3000]
  AUGMENTATIONS [10]  REINFORCE_THREADS [2]  REINFORCE_ARGS [""]
  REINFORCED_TAG [""]: appended to the reinforced dataset's folder name (reinforced-<dataset>-r<R>-<tag>),
    so a dataset built from other teachers gets its own folder, record and student run names
  STUDENT_TOWERS ["convnet-nano vit-nano"]  STUDENT_MODES ["baseline hyper"]  WEIGHTS ["0.75 1.0"]
  STEPS [3000]  EXTRA_CAPTIONS [on]  STUDENT_ARGS [""] (every student's)
  HYPER_ARGS [""]: added to the hyper- and token-mode students only (e.g. "--hyper-lr-scale 0.1", as
    results/emoji-long trains them), so one command trains both modes as bench-emoji did
  CIFAR [0]  CIFAR_STEPS [3000]  CIFAR_TEACHER_STEPS [3000]  CIFAR_TAR  CIFAR_DIR (as bench-emoji)
  DATASETS ["emoji", "emoji cifar10" with CIFAR=1]: the datasets this invocation runs, in order
    (DATASETS=cifar10 trains CIFAR-10's teachers and students without touching emoji's)
  PLAIN [1]: 0 leaves the plain students out (when another invocation into the same OUT is training them)
  PLAIN_FROM [""]: a bench-emoji OUT (e.g. results/emoji-long) whose finished run of exactly a plain
    student's command serves as that student instead of training it again (its record names the run)
  REPORT_ONLY=1 rewrites table.md and the plots from OUT/results.json.
Finished runs are reused and interrupted ones resume (bench_emoji.run_train); `hyperclip reinforce`
resumes by itself. Run names carry the settings that change them, so variants share OUT.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(name, default):
    return os.environ.get(name, default)


# bench_emoji reads its settings from the environment when imported: give it this benchmark's.
os.environ["OUT"] = env("OUT", "results/reinforced")
os.environ.setdefault("THREADS", "1")
os.environ.setdefault("JOBS", "2")
os.environ["STOP_AFTER"] = "0"
os.environ["TRAIN_ARGS"] = ""
sys.path.insert(0, os.path.join(ROOT, "tools"))
import bench_emoji as be  # noqa: E402  (run_train, run_all's resumption, shell_lines, mean_sd)

OUT = be.OUT
DATA = env("DATA", "datasets/emoji")
CAPTIONS = env("CAPTIONS", "train.tsv")
SEEDS = env("SEEDS", "0").split()
WEIGHTS = env("WEIGHTS", "0.75 1.0").split()
EXTRA_CAPTIONS = env("EXTRA_CAPTIONS", "on")
STUDENT_ARGS = env("STUDENT_ARGS", "").split()
HYPER_ARGS = env("HYPER_ARGS", "").split()
PLAIN_FROM = env("PLAIN_FROM", "")
PLAIN = env("PLAIN", "1") != "0"
KNOBS = ["DATA", "CAPTIONS", "OUT", "BATCH", "LR", "IMAGE_SIZE", "CONTEXT", "THREADS", "JOBS", "EVAL_POINTS", "SEEDS",
         "TEACHERS", "TEACHER_TOWERS", "TEACHER_MODE", "TEACHER_STEPS", "AUGMENTATIONS", "REINFORCE_THREADS", "REINFORCED_TAG",
         "REINFORCE_ARGS", "STUDENT_TOWERS", "STUDENT_MODES", "WEIGHTS", "STEPS", "EXTRA_CAPTIONS", "STUDENT_ARGS", "HYPER_ARGS",
         "CIFAR", "CIFAR_STEPS", "CIFAR_TEACHER_STEPS", "DATASETS", "PLAIN", "PLAIN_FROM"]
# The zero-shot figure the learning-efficiency ratio is taken on, per dataset: CIFAR-10 has 10 classes,
# so its top-5 is near 90% after a few hundred steps and says little; its top-1 is the figure.
TARGET = {"emoji": "top5", "cifar10": "top1"}


def fail(msg):
    sys.exit(f"bench-reinforced: {msg}")


def command_line():
    setting = " ".join(f"{k}={json.dumps(os.environ[k]) if ' ' in os.environ[k] else os.environ[k]}"
                       for k in KNOBS if k in os.environ)
    return f"{(setting + ' ') if setting else ''}make bench-reinforced"


def distinct_images(tsv):
    """Images of a training TSV (a header line "path<TAB>caption..." is not one)."""
    with open(tsv, encoding="utf-8") as f:
        paths = [line.split("\t", 1)[0] for line in f if line.strip()]
    if paths and paths[0] == "path":
        paths = paths[1:]
    return len(set(paths))


# ---- the datasets ----------------------------------------------------------------------------------

def datasets():
    """Each dataset's training data options, evaluation sets and image count, in DATASETS's order."""
    names = env("DATASETS", "emoji cifar10" if env("CIFAR", "0") == "1" else "emoji").split()
    unknown = [n for n in names if n not in TARGET]
    if unknown or not names:
        fail(f"DATASETS: {' '.join(unknown) or '(empty)'} is not one of: {' '.join(TARGET)}")
    out = []
    if "emoji" in names:
        out.append(emoji_dataset())
    if "cifar10" in names:
        specs = be.cifar_specs()  # extracts the archive when needed
        if not specs:
            fail("DATASETS names cifar10 but its archive was not found (CIFAR_TAR)")
        cdir = env("CIFAR_DIR", "datasets/cifar10-jpeg")
        test = f"folder:{cdir}/test"
        n = sum(len(files) for _, _, files in os.walk(os.path.join(cdir, "train")))
        out.append(dict(name="cifar10", train=f"folder:{cdir}/train", evals=[test], templates=None, concept=test,
                        group=None, images=n, steps=int(env("CIFAR_STEPS", "3000")),
                        teacher_steps=int(env("CIFAR_TEACHER_STEPS", "3000")), teachers=[]))
    return sorted(out, key=lambda d: names.index(d["name"]))


def emoji_dataset():
    tsv = os.path.join(DATA, CAPTIONS)
    for p in (tsv, os.path.join(DATA, "test/concept"), os.path.join(DATA, "test/group")):
        if not os.path.exists(p):
            fail(f"{p} is missing: build the dataset first (make data-emoji)")
    concept, group = f"folder:{DATA}/test/concept", f"folder:{DATA}/test/group"
    templates = os.path.join(DATA, "templates.txt")
    return dict(name="emoji", train=f"tsv:{tsv}", evals=[concept, group], templates=templates, concept=concept,
                group=group, images=distinct_images(tsv), steps=int(env("STEPS", "3000")),
                teacher_steps=int(env("TEACHER_STEPS", "3000")), teachers=env("TEACHERS", "").split())


def data_args(d):
    args = ["--data", d["train"]]
    for e in d["evals"]:
        args += ["--eval-data", e]
    return args + (["--templates", d["templates"]] if d["templates"] else [])


def model_args(tower, mode):
    hyper = ["--hyper", "none"] if mode == "baseline" else ["--hyper", "hyper-nano", "--mode", mode]
    return ["--image", tower, "--text", "text-nano", *hyper]


def run_key(args, steps):
    """What makes a training run the same run: bench_emoji's key.json, so finished runs of either match."""
    return {"args": args, "steps": steps, "batch": be.BATCH, "lr": be.LR, "image_size": be.IMAGE_SIZE,
            "context": be.CONTEXT, "threads": be.THREADS}


def train(name, args, steps, d, extra_key=None):
    """One `hyperclip train` through bench_emoji's runner (resumable, reused when finished); its summary."""
    key = dict(run_key(args, steps), **(extra_key or {}))
    summary_path = os.path.join(OUT, "runs", name, "summary.json")
    if os.path.exists(summary_path):
        done = json.load(open(summary_path))
        if done.get("key") == key:
            print(f"[{name}] already finished, reusing {summary_path}", flush=True)
            return done["result"]
    rows, wall, _ = be.run_train(name, args, steps, key)
    result = result_from(name, rows, wall, steps, d)
    with open(summary_path + ".tmp", "w") as f:
        json.dump({"key": key, "result": result}, f)
    os.replace(summary_path + ".tmp", summary_path)
    return result


def reused_plain(args, steps, d):
    """A finished bench-emoji run of exactly this plain command (same arguments, schedule, batch, lr, sizes
    and threads) under PLAIN_FROM/runs/, as this benchmark's plain student; None when there is none.
    Its build may be older than this one's, so its numbers can differ from a rerun by rounding."""
    key = run_key(args, steps)
    runs = os.path.join(PLAIN_FROM, "runs")
    for name in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        run = os.path.join(runs, name)
        try:
            if json.load(open(os.path.join(run, "key.json"))) != key:
                continue
            with open(os.path.join(run, "metrics.jsonl")) as f:
                rows = [json.loads(line) for line in f if line.strip()]
            wall = json.load(open(os.path.join(run, "wall.json")))["wall_s"]
        except (OSError, ValueError, KeyError):
            continue
        if max((r["step"] for r in rows if "loss" in r), default=0) != steps:
            continue  # unfinished
        print(f"[plain] reusing {run} (the same command, finished)", flush=True)
        return dict(result_from(name, rows, wall, steps, d), reused_from=run)
    return None


def result_from(name, rows, wall, steps, d):
    """A training's record from its metrics rows."""
    loss = [(r["step"] * be.BATCH, r["loss"]) for r in rows if "loss" in r]
    evals = {e: [r for r in rows if r.get("eval") == e] for e in d["evals"]}
    concept, group = evals[d["concept"]], evals.get(d["group"], [])
    last = concept[-1]
    ips = [r["images_per_s"] for r in rows if "images_per_s" in r][1:]
    result = {
        "dataset": d["name"], "run": name, "steps": steps, "batch": be.BATCH, "images_seen": steps * be.BATCH,
        "image_passes": round(steps * be.BATCH / d["images"], 2), "top1": last["top1"], "top5": last["top5"], "n": last["n"],
        "group_top1": group[-1]["top1"] if group else None, "wall_s": round(wall, 1),
        "images_per_s": statistics.median(ips) if ips else None, "command": command_line(),
        "curve": {"images_seen": [r["step"] * be.BATCH for r in concept], "top1": [r["top1"] for r in concept],
                  "top5": [r["top5"] for r in concept], "group_top1": [r["top1"] for r in group],
                  "loss_images_seen": [s for s, _ in loss], "loss": [v for _, v in loss],
                  "loss_distill": [r["loss_distill"] for r in rows if "loss_distill" in r]},
    }
    return result


def run_parallel(jobs):
    """Calls each job (a function of no arguments) JOBS at a time; results in order."""
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(max_workers=be.JOBS) as pool:
        return [f.result() for f in [pool.submit(j) for j in jobs]]


# ---- the three stages -------------------------------------------------------------------------------

def teachers(d):
    """The teachers' checkpoints and records (their own zero-shot figures when trained here)."""
    if d["teachers"]:
        return d["teachers"], [given_teacher(d, c) for c in d["teachers"]]
    mode = env("TEACHER_MODE", "baseline")
    specs = []
    for tower in env("TEACHER_TOWERS", "convnet-nano vit-nano").split():
        name = f"teacher-{d['name']}-{tower}-{mode}-{d['teacher_steps']}-s0"
        specs.append((name, tower, model_args(tower, mode) + data_args(d) + ["--seed", "0"]))
    results = run_parallel([lambda n=n, a=a: train(n, a, d["teacher_steps"], d) for n, _, a in specs])
    for r, (name, tower, _) in zip(results, specs):
        r.update(role="teacher", tower=tower, mode=mode, checkpoint=os.path.join(OUT, "runs", name, "last.safetensors"))
    return [r["checkpoint"] for r in results], results


def given_teacher(d, checkpoint):
    """A teacher named in TEACHERS; its zero-shot figures when it is a bench-emoji run (summary.json beside it)."""
    record = {"dataset": d["name"], "run": os.path.basename(os.path.dirname(checkpoint)), "checkpoint": checkpoint}
    summary = os.path.join(os.path.dirname(checkpoint), "summary.json")
    if os.path.exists(summary):
        r = json.load(open(summary)).get("result", {})
        record.update({k: r[k] for k in ("steps", "top1", "top5", "group_top1", "wall_s", "command") if k in r})
    return record


def reinforce(d, checkpoints):
    """`hyperclip reinforce` into OUT/reinforced-<dataset>-r<R>[-<REINFORCED_TAG>]; its timing line."""
    R = env("AUGMENTATIONS", "10")
    tag = env("REINFORCED_TAG", "")
    out = os.path.join(OUT, f"reinforced-{d['name']}-r{R}{'-' + tag if tag else ''}")
    cmd = [be.BIN, "reinforce", *sum((["--teacher", c] for c in checkpoints), []), "--data", d["train"],
           "--augmentations", R, "--threads", env("REINFORCE_THREADS", "2"), "-o", out, *env("REINFORCE_ARGS", "").split()]
    if d["templates"]:
        cmd += ["--templates", d["templates"]]
    timing_path = os.path.join(out, "timing.json")
    print(f"\n=== reinforce {d['name']}: R = {R}, {len(checkpoints)} teachers ===\n$ {' '.join(cmd)}", flush=True)
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        fail(f"reinforce failed (exit {p.returncode})")
    lines = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    if lines:  # this invocation did work: keep its timing (a folder already complete prints nothing)
        timing = dict(lines[-1], wall_s=round(time.time() - t0, 1), dir=out, command=" ".join(cmd), dataset=d["name"])
        if os.path.exists(timing_path):  # an interrupted earlier part: add its times
            prev = json.load(open(timing_path))
            if not prev.get("complete"):
                for k in ("samples", "text_seconds", "image_seconds", "forward_seconds", "wall_s"):
                    timing[k] = timing[k] + prev[k]
                timing["seconds_per_image"] = timing["image_seconds"] / timing["samples"]
        with open(timing_path, "w") as f:
            json.dump(timing, f)
    return out, json.load(open(timing_path))


def students(d, rdir):
    specs = []
    for seed in SEEDS:
        for tower in env("STUDENT_TOWERS", "convnet-nano vit-nano").split():
            for mode in env("STUDENT_MODES", "baseline hyper").split():
                extra = STUDENT_ARGS + (HYPER_ARGS if mode != "baseline" else [])
                base = model_args(tower, mode) + data_args(d) + ["--seed", seed] + extra
                tag = "-".join(a.lstrip("-") for a in extra)
                stem = f"{d['name']}-{tower}-{mode}{'-' + tag if tag else ''}"
                if PLAIN:
                    specs.append((f"{stem}-plain-{d['steps']}-s{seed}", base, tower, mode, seed, None, extra))
                for w in WEIGHTS:
                    args = base + ["--reinforced", rdir, "--distill-weight", w, "--extra-captions", EXTRA_CAPTIONS]
                    name = f"{stem}-distill{w}-{'extra' if EXTRA_CAPTIONS == 'on' else 'noextra'}-{os.path.basename(rdir)}-{d['steps']}-s{seed}"
                    specs.append((name, args, tower, mode, seed, w, extra))

    def job(name, args, tower, mode, seed, w, extra):
        r = (reused_plain(args, d["steps"], d) if w is None and PLAIN_FROM else None) or train(name, args, d["steps"], d)
        r.update(role="student", tower=tower, mode=mode, seed=int(seed), variant=" ".join(extra),
                 arm="plain" if w is None else f"distill {w}", distill_weight=None if w is None else float(w),
                 extra_captions=None if w is None else EXTRA_CAPTIONS, reinforced=None if w is None else rdir)
        return r
    return run_parallel([lambda s=s: job(*s) for s in specs])


# ---- the report ---------------------------------------------------------------------------------------

def images_to_reach(curve, target, key="top5"):
    """Images seen when the curve first reaches `target` (linear between evaluation points, from (0, 0));
    None when it never does."""
    xs, ys = [0] + curve["images_seen"], [0.0] + curve[key]
    for i in range(1, len(xs)):
        if ys[i] >= target:
            if ys[i] == ys[i - 1]:
                return xs[i]
            return xs[i - 1] + (target - ys[i - 1]) / (ys[i] - ys[i - 1]) * (xs[i] - xs[i - 1])
    return None


def efficiency(results):
    """Per student: the images it needs to reach its plain twin's final figure (TARGET: top-5 on emoji,
    top-1 on CIFAR-10), and the ratio."""
    out = []
    for r in results["students"]:
        if r["arm"] == "plain":
            continue
        twins = [p for p in results["students"] if p["arm"] == "plain" and p["dataset"] == r["dataset"] and
                 p["tower"] == r["tower"] and p["mode"] == r["mode"] and p["seed"] == r["seed"] and
                 p.get("variant", "") == r.get("variant", "")]
        if not twins:
            continue
        plain, metric = twins[0], TARGET[r["dataset"]]
        need = images_to_reach(r["curve"], plain[metric], metric)
        out.append({"run": r["run"], "plain": plain["run"], "metric": metric, "target": plain[metric], "images_needed": need,
                    "plain_images": plain["images_seen"], "ratio": plain["images_seen"] / need if need else None})
    return out


def pct(x):
    return "–" if x is None else f"{100 * x:.1f}"


def folder(student):
    """The reinforced dataset a student trained on: its folder's name after reinforced-<dataset>- (r10,
    r10-<REINFORCED_TAG>), short enough for the table, or – for a plain student."""
    if not student.get("reinforced"):
        return "–"
    name, prefix = os.path.basename(student["reinforced"]), f"reinforced-{student['dataset']}-"
    return name[len(prefix):] if name.startswith(prefix) else name


def reinforce_teachers(record):
    """The teacher runs of a reinforce record: the folder names of its command's --teacher checkpoints."""
    words = record.get("command", "").split()
    return [os.path.basename(os.path.dirname(words[i + 1])) for i, w in enumerate(words[:-1]) if w == "--teacher"]


def student_order(r):
    """The students table's order: by dataset, tower, mode and seed, each plain run before its reinforced
    runs (by folder, then weight), whatever order the runs were made in."""
    return (list(TARGET).index(r["dataset"]), r["tower"], r["mode"], r.get("variant", ""), r["seed"],
            r["distill_weight"] is not None, folder(r), r["distill_weight"] or 0.0)


def table_lines(results):
    lines = []
    ts = results["teachers"]
    if ts:
        lines += ["Teachers (their own zero-shot figures at the end of their training):", "",
                  "| data | teacher | steps | top-1 % | top-5 % | group top-1 % | wall s |", "|---|---|---|---|---|---|---|"]
        for t in ts:
            lines.append(f"| {t['dataset']} | {t['run']} | {t.get('steps', '–')} | {pct(t.get('top1'))} | {pct(t.get('top5'))} | "
                         f"{pct(t.get('group_top1'))} | {t.get('wall_s', '–')} |")
        lines.append("")
    lines += ["Reinforcement (`hyperclip reinforce`, inference only):", "",
              "| data | reinforced folder | teachers | views per image | images | captions | wall s | s per image | "
              "ms per view per teacher | threads |", "|---|---|---|---|---|---|---|---|---|---|"]
    for x in results["reinforce"]:
        lines.append(f"| {x['dataset']} | {os.path.basename(x['dir'])} | {', '.join(reinforce_teachers(x))} | "
                     f"{x['augmentations']} | {x['samples']} | {x['captions']} | "
                     f"{x['wall_s']} | {x['seconds_per_image']:.4f} | {1e3 * x['seconds_per_view_per_teacher']:.2f} | "
                     f"{x['threads']} |")
    eff = {e["run"]: e for e in efficiency(results)}
    lines += ["", "Students (final zero-shot; the ratio: the plain run's images seen over the images the reinforced run",
              "needed to reach the plain run's final figure (emoji: concept top-5; CIFAR-10: top-1, its top-5 of 10",
              "classes being near 90% from the start), so above 1 is more efficient):", "",
              "| data | tower | mode | arm | reinforced-<data>- | seed | top-1 % | top-5 % | group top-1 % | images seen | "
              "images to plain's figure | ratio | wall s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(results["students"], key=student_order):
        e = eff.get(r["run"])
        need = "–" if e is None else ("not reached" if e["images_needed"] is None else f"{e['images_needed']:.0f}")
        ratio = "–" if e is None or e["ratio"] is None else f"{e['ratio']:.2f}"
        lines.append(f"| {r['dataset']} | {r['tower']} | {r['mode']}{' `' + r['variant'] + '`' if r.get('variant') else ''} | "
                     f"{r['arm']} | {folder(r)} | {r['seed']} | {pct(r['top1'])} | {pct(r['top5'])} | {pct(r['group_top1'])} | "
                     f"{r['images_seen']} | {need} | {ratio} | {r['wall_s']} |")
    # HyperCLIP's gap to the baseline, plain and distilled.
    gaps = []
    for d, tower, arm, rf in sorted({(r["dataset"], r["tower"], r["arm"], folder(r)) for r in results["students"]}):
        get = {m: [r[TARGET[d]] for r in results["students"]
                   if (r["dataset"], r["tower"], r["arm"], folder(r), r["mode"]) == (d, tower, arm, rf, m)]
               for m in ("baseline", "hyper")}
        if get["baseline"] and get["hyper"]:
            b, h = statistics.mean(get["baseline"]), statistics.mean(get["hyper"])
            gaps.append(f"| {d} | {tower} | {arm} | {rf} | {pct(b)} | {pct(h)} | {100 * (h - b):+.1f} |")
    if gaps:
        lines += ["", "HyperCLIP against the baseline, plain and distilled (final emoji concept top-5, CIFAR-10 top-1;",
                  "mean over seeds):", "",
                  "| data | tower | arm | reinforced-<data>- | baseline % | HyperCLIP % | gap (points) |",
                  "|---|---|---|---|---|---|---|"] + gaps
    commands = []
    for r in results["teachers"] + results["students"]:
        if r.get("command") and r["command"] not in commands:
            commands.append(r["command"])
    lines += ["", f"Made by {'these commands, in order' if len(commands) > 1 else 'this command'}:", "", "```sh"]
    for c in commands:
        lines += be.shell_lines(c)
    lines.append("```")
    return lines


def plots(results):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plots skipped: python3-matplotlib is not installed (tools/setup_bench.sh)")
        return
    # One panel per student tower, so a tower's arms can be read against each other: the colour is the
    # arm (plain, each distillation weight), the line style the mode (solid baseline, dashed HyperCLIP),
    # the marker the seed.
    arm_colours = {"plain": "tab:blue", "distill 0": "tab:green", "distill 0.75": "tab:orange", "distill 1.0": "tab:red"}
    spare = ["tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
    mode_styles = {"baseline": "-", "hyper": "--", "token": ":"}
    seed_markers = [".", "s", "^", "D", "v"]
    figs = [("concept_top5.png", "emoji", "top5", "emoji concept top-5 (held-out family)"),
            ("concept_top1.png", "emoji", "top1", "emoji concept top-1 (held-out family)"),
            ("group_top1.png", "emoji", "group_top1", "emoji group top-1 (held-out family)"),
            ("cifar10_top1.png", "cifar10", "top1", "CIFAR-10 zero-shot top-1 (test set)")]
    for fname, dataset, key, title in figs:
        rs = [r for r in results["students"] if r["dataset"] == dataset and r["curve"].get(key)]
        if not rs:
            continue
        towers = sorted({r["tower"] for r in rs})
        extra_arms = sorted({r["arm"] for r in rs} - set(arm_colours))
        fig, axes = plt.subplots(1, len(towers), figsize=(1.5 + 4.6 * len(towers), 4.8), sharey=True, squeeze=False)
        for ax, tower in zip(axes[0], towers):
            for r in sorted((r for r in rs if r["tower"] == tower), key=student_order):
                colour = arm_colours.get(r["arm"]) or spare[extra_arms.index(r["arm"]) % len(spare)]
                ax.plot(r["curve"]["images_seen"], r["curve"][key], mode_styles.get(r["mode"], "-."),
                        marker=seed_markers[r["seed"] % len(seed_markers)], markersize=4,
                        color=colour, label=f"{r['mode']} {r['arm']} s{r['seed']}" + (f" [{folder(r)}]" if r.get("reinforced") else ""))
            for t in results["teachers"]:
                if t["dataset"] == dataset and t.get(key) is not None:
                    ax.axhline(t[key], color="gray", linewidth=0.8, linestyle=":")
            ax.set_title(f"{tower} students", fontsize=10)
            ax.set_xlabel("images seen")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6.5, loc="upper left")
        axes[0][0].set_ylabel(key.replace("_", " "))
        fig.suptitle(title + "; dotted grey: the teachers' final figures", fontsize=11)
        fig.tight_layout()
        fig.savefig(os.path.join(OUT, fname), dpi=110)
        plt.close(fig)
        print(f"plot: {os.path.join(OUT, fname)}")


def report(results):
    lines = table_lines(results)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
    plots(results)


# A record's identity within its list: a run done again replaces its entry, other entries stay.
RECORD_KEYS = {"teachers": ("dataset", "checkpoint"), "reinforce": ("dataset", "dir"), "students": ("dataset", "run")}


def save(path, results):
    """Writes OUT/results.json, keeping the teachers, reinforced datasets and students of earlier
    invocations into the same OUT (other modes, weights or towers), and returns the merged results with
    the efficiency ratios recomputed over all students (bench_emoji.update_json: locked, atomic)."""
    def update(old):
        merged = {"format": "bench-reinforced"}
        for part, key in RECORD_KEYS.items():
            merged[part] = be.merge_records(old.get(part, []), results[part], lambda r: tuple(r.get(k) for k in key))
        merged["efficiency"] = efficiency(merged)
        return merged
    return be.update_json(path, update, {})


def main():
    os.chdir(ROOT)
    if not os.access(be.BIN, os.X_OK):
        fail(f"{be.BIN} not found: run make first")
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "results.json")
    if env("REPORT_ONLY", "0") == "1":
        report(save(path, {part: [] for part in RECORD_KEYS}))  # the stored records, ratios recomputed
        return
    t0 = time.time()
    results = {"format": "bench-reinforced", "teachers": [], "reinforce": [], "students": []}
    for d in datasets():
        print(f"{d['name']}: {d['images']} training images; students {d['steps']} steps of {be.BATCH} "
              f"({d['steps'] * be.BATCH / d['images']:.1f} passes over the images)", flush=True)
        checkpoints, trecords = teachers(d)
        results["teachers"] += trecords
        rdir, timing = reinforce(d, checkpoints)
        results["reinforce"].append(timing)
        results["students"] += students(d, rdir)
        results = save(path, results)
    report(results)
    print(f"\nbench-reinforced: done in {time.time() - t0:.0f}s; results in {OUT}/")


if __name__ == "__main__":
    main()
