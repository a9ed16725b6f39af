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
    forecast_request_fuzz anomaly_request_fuzz http_request_fuzz)
fi

# One target per core at a time; each writes its own log.
parallel=${GRIDCAST_FUZZ_JOBS:-$(nproc)}

run_target() {
  local target=$1
  local corpus=$build/fuzz-corpus/$target
  mkdir -p "$corpus"
  # -timeout flags an input that takes seconds as a hang; -rss_limit_mb
  # leaves room for the other targets running beside it.
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$target-" \
    "$corpus" "$source_dir/corpus/$target" > "$build/fuzz-$target.log" 2>&1
}

mkdir -p "$build/fuzz-artifacts"
rm -f "$build"/fuzz-*.failed
for target in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
  echo "fuzz: $target for ${seconds}s"
  (run_target "$target" || touch "$build/fuzz-$target.failed") &
done
wait

failed=0
for target in "${targets[@]}"; do
  if [[ -e $build/fuzz-$target.failed ]]; then
    tail -n 60 "$build/fuzz-$target.log"
    echo "fuzz: $target FAILED; input in $build/fuzz-artifacts/" >&2
    failed=1
  else
    echo "fuzz: $target passed: $(grep -E '^stat::number_of_executed_units' \
      "$build/fuzz-$target.log" | awk '{print $2}') inputs"
  fi
done
exit "$failed"
