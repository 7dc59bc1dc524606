#!/usr/bin/env bash
# make demo: the main job. Trains HyperCLIP and the SigLIP baseline with the same small image tower
# on the built-in synthetic scenes, evaluates both zero-shot on every task, and prints a table.
# Everything is configurable through the environment, e.g. STEPS=3000 THREADS=4 make demo.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-build/hyperclip}
OUT=${OUT:-runs/demo}
IMAGE=${IMAGE:-convnet-nano}
IMAGE_SIZE=${IMAGE_SIZE:-32}
STEPS=${STEPS:-700}
CONTEXT=${CONTEXT:-24}
BATCH=${BATCH:-64}
LR=${LR:-3e-3}
THREADS=${THREADS:-2}
SEED=${SEED:-0}
SCENES=${SCENES:-50000}
EVAL_SAMPLES=${EVAL_SAMPLES:-1000}

mkdir -p "$OUT"
# The settings, so that tools/results_report.py can print the command that made the results.
cat > "$OUT/settings.json" <<JSON
{"IMAGE": "$IMAGE", "IMAGE_SIZE": $IMAGE_SIZE, "STEPS": $STEPS, "CONTEXT": $CONTEXT, "BATCH": $BATCH, "LR": "$LR",
 "THREADS": $THREADS, "SEED": $SEED, "SCENES": $SCENES, "EVAL_SAMPLES": $EVAL_SAMPLES}
JSON
start=$(date +%s)
for mode in baseline hyper; do
  hyper=hyper-nano
  [ "$mode" = baseline ] && hyper=none
  echo "=== training $mode ($IMAGE at ${IMAGE_SIZE}px, $STEPS steps of $BATCH, $THREADS threads) ==="
  t0=$(date +%s)
  "$BIN" train --image "$IMAGE" --image-size "$IMAGE_SIZE" --text text-nano --context "$CONTEXT" --hyper "$hyper" \
    --data synthetic --synthetic-size "$SCENES" --steps "$STEPS" --batch "$BATCH" --lr "$LR" \
    --seed "$SEED" --threads "$THREADS" --log-every 50 --out "$OUT/$mode"
  echo "=== evaluating $mode zero-shot on every synthetic task ==="
  "$BIN" eval --ckpt "$OUT/$mode/last.safetensors" --data synthetic --threads "$THREADS" \
    --max-samples "$EVAL_SAMPLES" | tee "$OUT/$mode/eval.jsonl"
  echo $(( $(date +%s) - t0 )) > "$OUT/$mode/wall_s"
done

# The comparison table (eval prints {"data": ..., "n": ..., "top1": ..., "top5": ...} per line).
field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1"; }
echo
{
printf '| task | baseline top-1 | HyperCLIP top-1 | baseline top-5 | HyperCLIP top-5 |\n'
printf '|---|---|---|---|---|\n'
paste -d '\n' "$OUT/baseline/eval.jsonl" "$OUT/hyper/eval.jsonl" | while read -r b && read -r h; do
  task=$(sed -n 's/.*"data":"synthetic:\([^"]*\)".*/\1/p' <<<"$b")
  printf '| %s | %.3f | %.3f | %.3f | %.3f |\n' "$task" "$(field "$b" top1)" "$(field "$h" top1)" \
    "$(field "$b" top5)" "$(field "$h" top5)"
done
} | tee "$OUT/table.md"
echo
echo "wall time: baseline $(cat "$OUT/baseline/wall_s")s, hyper $(cat "$OUT/hyper/wall_s")s, total $(( $(date +%s) - start ))s"
