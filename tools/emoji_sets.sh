#!/usr/bin/env bash
# The runs of issue 25 (docs/hypernetwork.md): does training the hypernetwork on task-shaped sets
# make the text input matter? On the emoji benchmark, 3000 steps, both towers, two seeds, into
# results/emoji-sets/ (tools/bench_emoji.py: each run's table row, per-group concept tasks and
# conditioning diagnostic), then the paired tests (tools/emoji_paired.py) into results/emoji-sets/paired/.
#
#   bash tools/emoji_sets.sh            # everything, JOBS runs side by side (about 51 CPU-hours)
#   DRY_RUN=1 bash tools/emoji_sets.sh  # print the commands only
#   STAGE=train|paired bash tools/emoji_sets.sh   # one half
#
# The runs, each with SEEDS x TOWERS; the runs of one seed see the same batches in the same order
# (the group sampler's order depends on seed, epoch and the groups only):
#   baseline        --set-size 32 --set-sampling group   (the same batches as the group runs)
#   hyper, token    --hyper-lr-scale 0.1 --set-size 32 --set-sampling group
#   hyper           --hyper-lr-scale 0.1 --set-size 32 --set-sampling random   (random sets of 32)
#   baseline, hyper, token  --set-size 128 --set-sampling group: one group per batch (the remedy the
#                   set-swap test points to: every image of a batch gets the same parameters, so
#                   they cannot tell its group from the others'; the per-group tasks' shape)
#   hyper, token    the group runs plus REMEDY (default --hyper-input center: each set's shared
#                   direction, its group's, taken out of the hypernetwork's input)
#   baseline, hyper, token  the group runs with --set-loss split: SigLIP within each set with its own
#                   parameters plus SigLIP over the batch with the whole batch's parameters (the
#                   remedy the set-swap test points to that keeps the cross-group negatives)
# Interrupted runs resume from their last evaluation point when the script is run again; finished
# runs are reused (bench_emoji.py). Environment: DATA (default datasets/emoji), OUT, JOBS (2),
# THREADS (1), STEPS (3000), SEEDS ("0 1"), TOWERS ("convnet-nano vit-nano"), REMEDY.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-datasets/emoji}
OUT=${OUT:-results/emoji-sets}
JOBS=${JOBS:-2}
THREADS=${THREADS:-1}
STEPS=${STEPS:-3000}
SEEDS=${SEEDS:-0 1}
TOWERS=${TOWERS:-convnet-nano vit-nano}
REMEDY=${REMEDY:---hyper-input center}
STAGE=${STAGE:-all}
SETS="--set-size 32"
GROUP="$SETS --set-sampling group"
ONE_GROUP="--set-size 128 --set-sampling group"
SPLIT="$GROUP --set-loss split"
HYPER_LR="--hyper-lr-scale 0.1"

run() {
  echo "+ $*"
  [ "${DRY_RUN:-0}" = 1 ] || "$@"
}

bench() {  # MODES TRAIN_ARGS
  run env STEPS="$STEPS" JOBS="$JOBS" THREADS="$THREADS" SEEDS="$SEEDS" TOWERS="$TOWERS" MODES="$1" TRAIN_ARGS="$2" \
    CIFAR=0 OUT="$OUT" DATA="$DATA" make bench-emoji
}

if [ "$STAGE" = all ] || [ "$STAGE" = train ]; then
  [ "${DRY_RUN:-0}" = 1 ] || [ -f "$DATA/test/concept-groups.tsv" ] || {
    echo "emoji_sets: $DATA/test/concept-groups.tsv is missing: rebuild the dataset (make data-emoji EMOJI_DATA=$DATA)" >&2
    exit 1
  }
  bench "baseline" "$GROUP"
  bench "hyper token" "$HYPER_LR $GROUP"
  bench "hyper" "$HYPER_LR $SETS --set-sampling random"
  bench "baseline" "$ONE_GROUP"
  bench "hyper token" "$HYPER_LR $ONE_GROUP"
  bench "hyper token" "$HYPER_LR $GROUP $REMEDY"
  bench "baseline" "$SPLIT"
  bench "hyper token" "$HYPER_LR $SPLIT"
fi

# Run names as bench_emoji.py makes them: emoji-<tower>-<mode>-<TRAIN_ARGS without dashes>-s<seed>.
tag() { local t; t=$(for a in $1; do printf '%s-' "${a#--}"; done); echo "${t%-}" | tr -cd 'A-Za-z0-9._-'; }
name() { echo "$OUT/runs/emoji-$1-$2-$(tag "$3")-s$4"; }

if [ "$STAGE" = all ] || [ "$STAGE" = paired ]; then
  run mkdir -p "$OUT/paired"
  for tower in $TOWERS; do
    # Each comparison pairs the two runs of every seed: A(s0) B(s0) A(s1) B(s1) ...
    compare() {  # file A_mode A_args B_mode B_args
      local args=()
      for s in $SEEDS; do args+=("$(name "$tower" "$2" "$3" "$s")" "$(name "$tower" "$4" "$5" "$s")"); done
      if [ "${DRY_RUN:-0}" = 1 ]; then
        echo "+ python3 tools/emoji_paired.py --data $DATA ${args[*]} > $OUT/paired/$tower-$1.json"
      else
        python3 tools/emoji_paired.py --data "$DATA" "${args[@]}" > "$OUT/paired/$tower-$1.json"
      fi
    }
    compare hyper-vs-token-group hyper "$HYPER_LR $GROUP" token "$HYPER_LR $GROUP"
    compare hyper-vs-baseline-group hyper "$HYPER_LR $GROUP" baseline "$GROUP"
    compare token-vs-baseline-group token "$HYPER_LR $GROUP" baseline "$GROUP"
    compare hyper-group-vs-random hyper "$HYPER_LR $GROUP" hyper "$HYPER_LR $SETS --set-sampling random"
    compare hyper-vs-token-one-group hyper "$HYPER_LR $ONE_GROUP" token "$HYPER_LR $ONE_GROUP"
    compare hyper-vs-baseline-one-group hyper "$HYPER_LR $ONE_GROUP" baseline "$ONE_GROUP"
    compare token-vs-baseline-one-group token "$HYPER_LR $ONE_GROUP" baseline "$ONE_GROUP"
    compare hyper-one-group-vs-group hyper "$HYPER_LR $ONE_GROUP" hyper "$HYPER_LR $GROUP"
    compare hyper-remedy-vs-token-remedy hyper "$HYPER_LR $GROUP $REMEDY" token "$HYPER_LR $GROUP $REMEDY"
    compare hyper-remedy-vs-hyper-group hyper "$HYPER_LR $GROUP $REMEDY" hyper "$HYPER_LR $GROUP"
    compare hyper-split-vs-token-split hyper "$HYPER_LR $SPLIT" token "$HYPER_LR $SPLIT"
    compare hyper-split-vs-baseline-split hyper "$HYPER_LR $SPLIT" baseline "$SPLIT"
    compare hyper-split-vs-hyper-group hyper "$HYPER_LR $SPLIT" hyper "$HYPER_LR $GROUP"
    compare hyper-split-vs-random hyper "$HYPER_LR $SPLIT" hyper "$HYPER_LR $SETS --set-sampling random"
    compare hyper-split-vs-token-group hyper "$HYPER_LR $SPLIT" token "$HYPER_LR $GROUP"
    compare hyper-split-vs-baseline-group hyper "$HYPER_LR $SPLIT" baseline "$GROUP"
    compare token-split-vs-token-group token "$HYPER_LR $SPLIT" token "$HYPER_LR $GROUP"
    compare token-split-vs-baseline-group token "$HYPER_LR $SPLIT" baseline "$GROUP"
    compare baseline-split-vs-baseline-group baseline "$SPLIT" baseline "$GROUP"
  done
fi
