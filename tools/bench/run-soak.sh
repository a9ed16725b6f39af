#!/usr/bin/env bash
# The soak of docs/reliability.md: Forecast load at 80 % of the peak for
# ten minutes while a new version of the model is published every 30 s.
# It reports failed calls (target 0) and the inference server's RSS growth
# between the first minute and the end (target under 5 %).
#
#   tools/bench/run-soak.sh [BUILD_DIR]
#
# Knobs (environment): SOAK_S (default 600), PUBLISH_EVERY_S (default 30),
# LEVELS (the peak search, default 1,2,4,8,16,32), PORT_BASE (default
# 50280). Results: stdout and BUILD_DIR/soak/.
#
# The peak is the best rate of a closed-loop search; the soak then offers
# 80 % of it on a fixed schedule (gridcast-loadgen --rate_qps).
set -euo pipefail

cd "$(dirname "$0")/../.."
build=${1:-build}
soak_s=${SOAK_S:-600}
publish_every_s=${PUBLISH_EVERY_S:-30}
levels=${LEVELS:-1,2,4,8,16,32}
base=${PORT_BASE:-50280}

work=$build/soak
rm -rf "$work"
mkdir -p "$work"
ctl=$build/tools/gridcastctl
loadgen=$build/tools/gridcast-loadgen
bench_store=$build/tools/gridcast-bench-store

step() { printf '\n== %s\n' "$*" >&2; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

source tools/lib/servers.sh
step "Trainer and inference on :$base, :$((base + 1))"
start_servers "$build" "$work" "$base" "$((base + 1))"
inference_pid=${server_pids[1]}

step "A first version of soak-feeder"
"$ctl" sample --out "$work/feeder.csv" --days 84 --seed 3 > /dev/null 2>&1
dataset=$("$ctl" upload --file "$work/feeder.csv" --series soak-feeder \
  --quiet)
# Serving is soaked, not accuracy: the quality gate is waived.
"$ctl" train --model soak-feeder --dataset "$dataset" --epochs 3 \
  --allow-rejected > "$work/train.txt" 2>&1
"$ctl" models get soak-feeder --wait-version 1 --wait-timeout 60 > /dev/null

step "Peak search: concurrency $levels, 5 s each"
"$loadgen" --target="$GRIDCAST_FORECASTER" --method=forecast \
  --model=soak-feeder --concurrency="$levels" --duration_s=5 \
  --format=tsv > "$work/peak.tsv"
read -r peak_qps soak_qps < <(tail -n +2 "$work/peak.tsv" | awk -F'\t' '
  $4 > peak {peak = $4} END {printf "%.0f %.0f\n", peak, 0.8 * peak}')
echo "peak $peak_qps QPS; soaking at $soak_qps QPS" >&2

# An open loop holds the rate whatever the server does; up to 256 calls
# may be outstanding before one waits (and counts as late).
step "Soak: ${soak_s} s at $soak_qps QPS, a new version every" \
  "${publish_every_s} s"
"$loadgen" --target="$GRIDCAST_FORECASTER" --method=forecast \
  --model=soak-feeder --rate_qps="$soak_qps" --concurrency=256 --warmup_s=0 \
  --duration_s="$soak_s" --format=tsv > "$work/soak.tsv" &
loadgen_pid=$!
"$bench_store" republish --store="$work/store" --from=soak-feeder \
  --every_ms=$((publish_every_s * 1000)) \
  --times=$((soak_s / publish_every_s - 1)) > "$work/republish.txt" &
republish_pid=$!

# RSS every 10 s while the load runs.
printf 'seconds\trss_kib\n' > "$work/rss.tsv"
started=$(date +%s)
while kill -0 "$loadgen_pid" 2> /dev/null; do
  printf '%s\t%s\n' $(($(date +%s) - started)) "$(rss_kib "$inference_pid")" \
    >> "$work/rss.tsv"
  sleep 10
done
loadgen_status=0
wait "$loadgen_pid" || loadgen_status=$?
wait "$republish_pid" || true

step "Results"
rss_at_60=$(awk -F'\t' 'NR > 1 && $1 >= 60 {print $2; exit}' "$work/rss.tsv")
rss_last=$(tail -n 1 "$work/rss.tsv" | cut -f2)
{
  echo
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); load average at the end:" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| | result |"
  echo "| --- | --- |"
  echo "| peak Forecast rate (closed loop, 5 s per level) | $peak_qps QPS |"
  echo "| soak load (open loop) | $soak_qps QPS offered, 80 % of peak |"
  tail -n +2 "$work/soak.tsv" | awk -F'\t' '{
    printf "| calls / failed / late | %s / %s / %s |\n", $3, $10, $12
    printf "| rate, p50 / p99 / max latency | %.0f QPS, %.3f / %.3f / %.1f ms |\n",
      $4, $5, $7, $9 }'
  echo "| versions published / swapped in |" \
    "$(grep -c published "$work/republish.txt") /" \
    "$(grep -c 'event=version_swapped model=soak-feeder' \
      "$work/inference.log") |"
  awk -v a="$rss_at_60" -v b="$rss_last" 'BEGIN {
    printf "| inference RSS at 60 s / at the end / growth | %.1f / %.1f MiB / %+.1f %% |\n",
      a / 1024, b / 1024, 100 * (b - a) / a }'
  echo "| loadgen exit code (1: some call failed) | $loadgen_status |"
} | tee "$work/results.md"
