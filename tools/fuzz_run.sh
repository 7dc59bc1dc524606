#!/usr/bin/env bash
# Runs every libFuzzer harness built by `make fuzz` for a fixed time each, one after the other, with
# one process (issue 24, docs/untrusted-input.md). Fails when any harness reports a finding (a
# sanitizer report, a crash, an escaped exception, a timeout of one input, running out of memory).
#   tools/fuzz_run.sh BUILD_DIR SECONDS [JSONL] [HARNESS...]
# Per harness: the committed seeds (BUILD_DIR/seeds/NAME, written by make_seeds) and the corpus it
# grows (BUILD_DIR/corpus/NAME, kept between runs), tests/fuzz/*.dict where one fits; findings go to
# BUILD_DIR/findings/. One JSON line per harness (executions, corpus size, findings) is printed and,
# with JSONL, appended there.
set -uo pipefail
build=${1:?build dir}
seconds=${2:?seconds}
jsonl=${3:-}
shift $(( $# < 3 ? $# : 3 ))
cd "$(dirname "$0")/.."
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for b in "$build"/fuzz_*; do names+=("$(basename "$b" | sed 's/^fuzz_//')"); done
fi
dict_for() {
  case "$1" in
    safetensors) echo tests/fuzz/safetensors.dict ;;
    checkpoint|export|config) echo tests/fuzz/model.dict ;;
    wds|npy|image|brace|tokenizer|reinforced) echo "tests/fuzz/$1.dict" ;;
    *) echo "" ;;
  esac
}
failed=0
mkdir -p "$build/findings"
for name in "${names[@]}"; do
  bin="$build/fuzz_$name"
  [ -x "$bin" ] || { echo "fuzz_run: no $bin (make fuzz)"; exit 2; }
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  dict=$(dict_for "$name")
  log="$build/findings/$name.log"
  # rss_limit / malloc_limit: one input may use at most 2 GB; timeout: 10 s for one input.
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$name-" ${dict:+-dict=$dict} "$corpus" "$build/seeds/$name" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  findings=$([ $rc -eq 0 ] && echo 0 || echo 1)
  line="{\"harness\": \"$name\", \"seconds\": $seconds, \"executions\": ${execs:-0}, \"corpus_files\": $files, \"findings\": $findings, \"exit\": $rc}"
  echo "$line"
  [ -n "$jsonl" ] && echo "$line" >> "$jsonl"
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz_run: $name failed; the last lines of $log:"
    tail -40 "$log"
  fi
done
exit $failed
