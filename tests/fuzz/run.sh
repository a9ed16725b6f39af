#!/usr/bin/env bash
# Runs every fuzz target of a GRIDCAST_FUZZ build for a bounded time over
# its seed corpus (tests/fuzz/corpus/<target>, read only; what the fuzzer
# adds goes to BUILD_DIR/fuzz-corpus/<target>). Fails on the first crash,
# leaving the input in BUILD_DIR/fuzz-artifacts/ to become a regression
# test and a seed (docs/reliability.md, "Fuzzing").
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail

build=$(realpath "$1")
seconds=${2:-30}
shift $(($# < 2 ? $# : 2))
source_dir=$(realpath "$(dirname "$0")")
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(upload_assembler_fuzz csv_fuzz store_json_fuzz serving_policy_fuzz
    forecast_request_fuzz)
fi

mkdir -p "$build/fuzz-artifacts"
for target in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$target
  mkdir -p "$corpus"
  echo "fuzz: $target for ${seconds}s"
  # -rss_limit_mb stays below what 2 parallel CI jobs can afford;
  # -timeout flags an input that takes seconds as a hang.
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$target-" \
    "$corpus" "$source_dir/corpus/$target" 2> "$build/fuzz-$target.log" || {
    tail -n 60 "$build/fuzz-$target.log"
    echo "fuzz: $target FAILED; input in $build/fuzz-artifacts/" >&2
    exit 1
  }
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" \
    "$build/fuzz-$target.log" | tr '\n' ' '
  echo
done
