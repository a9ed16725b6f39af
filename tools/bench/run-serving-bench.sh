#!/usr/bin/env bash
# The serving benchmark of docs/performance.md, in one run, on loopback:
#
#   1. echo (gridcast.bench.v1.EchoService, the gRPC ceiling) and Forecast
#      (168-point history, 24-step horizon, the skeleton's 256x256 MLP)
#      through gridcast-loadgen, side by side at each concurrency level;
#   2. the same network behind Flask's POST /predict, driven by wrk at the
#      same concurrency levels;
#   3. a table of ratios against the issue's targets;
#   4. Forecast with dynamic batching on, the same sweep;
#   5. RSS of an idle server; a new version published every 5 s during a
#      long Forecast run; 1,000 registered models (RSS, load latency); one
#      ForecastBatch of 1,000 feeders; the LRU keeping 100 of the 1,000
#      loaded, with lazy loads (cold-load latency, RSS).
#
#   tools/bench/run-serving-bench.sh [BUILD_DIR]
#
# Knobs (environment): LEVELS (default 1,4,16,64), DURATION_S (measured
# seconds per level, default 5), RELOAD_RUN_S (default 60), MODELS
# (default 1000), PORT_BASE (default 50250). The build must exist (see the
# README); this script installs python3-flask, python3-torch and wrk from
# Debian when they are missing. Results: stdout and BUILD_DIR/bench/.
set -euo pipefail

cd "$(dirname "$0")/../.."
build=${1:-build}
levels=${LEVELS:-1,4,16,64}
duration=${DURATION_S:-5}
reload_run=${RELOAD_RUN_S:-60}
model_count=${MODELS:-1000}
base=${PORT_BASE:-50250}
trainer_port=$base
inference_port=$((base + 1))
metrics_port=$((base + 2))
flask_port=$((base + 3))
idle_port=$((base + 4))
many_port=$((base + 5))
many_metrics_port=$((base + 6))
batching_port=$((base + 7))
lru_port=$((base + 8))
lru_metrics_port=$((base + 9))

work=$build/bench
rm -rf "$work"
mkdir -p "$work"
ctl=$build/tools/gridcastctl
loadgen=$build/tools/gridcast-loadgen
bench_store=$build/tools/gridcast-bench-store
for binary in "$ctl" "$loadgen" "$bench_store" \
  "$build/trainer/gridcast-trainer" "$build/inference/gridcast-inference"; do
  [[ -x $binary ]] || { echo "missing $binary: build first" >&2; exit 1; }
done

step() { printf '\n== %s\n' "$*" >&2; }

# ------------------------------------------------------------ packages
# Debian's interpreter, which Debian's python3-flask and python3-torch
# are for (not whatever python3 comes first on PATH).
python=/usr/bin/python3
missing=()
"$python" -c 'import flask' 2> /dev/null || missing+=(python3-flask)
"$python" -c 'import torch' 2> /dev/null || missing+=(python3-torch)
command -v wrk > /dev/null || missing+=(wrk)
if ((${#missing[@]} > 0)); then
  step "Installing ${missing[*]} from Debian (benchmark only)"
  sudo_cmd=()
  ((EUID == 0)) || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" > /dev/null
fi

# ------------------------------------------------------------- servers
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
}
trap cleanup EXIT

# Waits for `pattern` in `log` while `pid` lives.
wait_for_log() {
  local log=$1 pattern=$2 pid=$3
  for _ in $(seq 1 600); do
    grep -q "$pattern" "$log" 2> /dev/null && return 0
    kill -0 "$pid" 2> /dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "no '$pattern' in $log after 60 s" >&2
  return 1
}

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# The value of an unlabelled or fully labelled series on a /metrics port.
metric() {
  curl -sf "http://127.0.0.1:$1/metrics" |
    awk -v name="$2" '$1 == name {print $2; found = 1} END {if (!found) print 0}'
}

start_inference() {  # store port metrics_port log [flags...]
  local store=$1 port=$2 mport=$3 log=$4
  shift 4
  "$build/inference/gridcast-inference" --store="$store" \
    --listen="127.0.0.1:$port" --metrics_port="$mport" \
    --poll_interval_ms=500 "$@" 2> "$log" &
  pids+=($!)
  wait_for_log "$log" inference_listening "$!"
}

# The machine, for the record.
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu: $(nproc) x $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "levels: $levels, ${duration} s measured per level (+1 s warm-up)"
} | tee "$work/machine.txt"

step "Idle server RSS (empty store)"
mkdir -p "$work/empty-store/models"
start_inference "$work/empty-store" "$idle_port" 0 "$work/idle.log"
idle_pid=${pids[-1]}
sleep 2  # RSS after start-up settles; nothing to await here.
idle_rss=$(rss_mib "$idle_pid")
kill -TERM "$idle_pid"
wait "$idle_pid" || true
echo "idle inference RSS: $idle_rss MiB" | tee -a "$work/machine.txt"

step "Trainer and inference (--bench_echo) on :$trainer_port, :$inference_port"
"$build/trainer/gridcast-trainer" --store="$work/store" \
  --listen="127.0.0.1:$trainer_port" 2> "$work/trainer.log" &
pids+=($!)
wait_for_log "$work/trainer.log" trainer_listening "$!"
start_inference "$work/store" "$inference_port" "$metrics_port" \
  "$work/inference.log" --bench_echo
inference_pid=${pids[-1]}
export GRIDCAST_TRAINER="127.0.0.1:$trainer_port"
export GRIDCAST_FORECASTER="127.0.0.1:$inference_port"

step "Training bench-feeder: the skeleton's MLP (hidden 256,256), 3 epochs"
"$ctl" sample --out "$work/feeder.csv" --days 84 --seed 3 > /dev/null 2>&1
dataset=$("$ctl" upload --file "$work/feeder.csv" --series bench-feeder \
  --covariate temperature_c --quiet)
# The benchmark measures serving, so the quality gate is waived.
"$ctl" train --model bench-feeder --dataset "$dataset" --epochs 3 \
  --allow-rejected > "$work/train.txt" 2>&1
"$ctl" models get bench-feeder --wait-version 1 --wait-timeout 60 > /dev/null
one_model_rss=$(rss_mib "$inference_pid")

run_loadgen() {  # method levels duration out
  "$loadgen" --target="127.0.0.1:$inference_port" --method="$1" \
    --model=bench-feeder --concurrency="$2" --duration_s="$3" \
    --format=tsv > "$4" || true
}

step "gridcast-loadgen: echo"
run_loadgen echo "$levels" "$duration" "$work/echo.tsv"
step "gridcast-loadgen: forecast"
run_loadgen forecast "$levels" "$duration" "$work/forecast.tsv"

# Latency at half of the sweep's peak, offered on a fixed schedule: a
# closed loop cannot choose its rate, and would hide queueing by slowing
# down with the server.
half_peak=$(tail -n +2 "$work/forecast.tsv" |
  awk -F'\t' '$4 > peak {peak = $4} END {printf "%.0f", peak / 2}')
step "gridcast-loadgen: forecast, open loop at half of peak ($half_peak QPS)"
"$loadgen" --target="127.0.0.1:$inference_port" --method=forecast \
  --model=bench-feeder --rate_qps="$half_peak" --concurrency=256 \
  --duration_s="$duration" --format=tsv > "$work/half-peak.tsv" || true
serving_rss=$(rss_mib "$inference_pid")

# Dynamic batching: the replica above runs the default, greedy batching
# (a lone request at once, what queues behind a pass as the next one).
# The same sweep on a second replica over the same store with batching off,
# then with batches that wait 500 us for company.
sweep_replica() {  # label log [flags...]
  local label=$1 log=$2
  shift 2
  start_inference "$work/store" "$batching_port" 0 "$work/$log" "$@"
  local pid=${pids[-1]}
  "$ctl" --forecaster="127.0.0.1:$batching_port" models get bench-feeder \
    --wait-version 1 --wait-timeout 60 > /dev/null
  "$loadgen" --target="127.0.0.1:$batching_port" --method=forecast \
    --model=bench-feeder --concurrency="$levels" --duration_s="$duration" \
    --format=tsv | sed "2,\$ s/^forecast/$label/" > "$work/$label.tsv" || true
  kill -TERM "$pid"
  wait "$pid" || true
}
step "gridcast-loadgen: forecast with batching off"
sweep_replica unbatched unbatched.log --batch_max_size=0
step "gridcast-loadgen: forecast with batches waiting 500 us"
sweep_replica waiting waiting.log --batch_max_delay_us=500

step "Flask + wrk on :$flask_port"
"$python" tools/bench/flask_server.py --store "$work/store" \
  --model bench-feeder --port "$flask_port" > "$work/flask.log" 2>&1 &
pids+=($!)
wait_for_log "$work/flask.log" flask_listening "$!"
# Flask's own check that it answers what gridcast answers.
curl -sf -X POST -H 'Content-Type: application/json' \
  --data '{"timestamps":[0],"values":[1]}' \
  "http://127.0.0.1:$flask_port/predict" > /dev/null 2>&1 || true
printf 'method\tconcurrency\tcalls\tqps\tp50_ms\tp90_ms\tp99_ms\tp999_ms\tmax_ms\terrors\n' \
  > "$work/flask.tsv"
IFS=, read -ra level_list <<< "$levels"
for level in "${level_list[@]}"; do
  threads=$((level < 2 ? 1 : 2))
  wrk -t"$threads" -c"$level" -d1s -s tools/bench/predict.lua \
    "http://127.0.0.1:$flask_port/predict" > /dev/null 2>&1 || true  # warm-up
  wrk -t"$threads" -c"$level" -d"${duration}s" --timeout 10s \
    -s tools/bench/predict.lua "http://127.0.0.1:$flask_port/predict" \
    > "$work/wrk-$level.txt" 2>&1 || true
  awk -v level="$level" -F'\t' '$1 == "WRK" {
      printf "flask\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
        level, $2, $3, $4, $5, $6, $7, $8, $9}' "$work/wrk-$level.txt" \
    >> "$work/flask.tsv"
done
kill -TERM "${pids[-1]}" 2> /dev/null || true

step "Results"
{
  echo
  echo "Side by side (QPS = successful calls per second; latencies in ms):"
  echo
  printf '| method | conc | QPS | p50 | p90 | p99 | p99.9 | errors |\n'
  printf '|---|---:|---:|---:|---:|---:|---:|---|\n'
  for file in echo forecast unbatched waiting flask; do
    tail -n +2 "$work/$file.tsv" | awk -F'\t' '{
      printf "| %s | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %s |\n",
        $1, $2, $4, $5, $6, $7, $8, $10}'
  done | sort -t'|' -k3,3n -k2,2 -s
  echo
  echo "Ratios against the targets:"
  echo
  printf '| conc | Forecast/echo QPS (>= 0.6) | Forecast/Flask QPS (>= 20) | Forecast p99/p50 |\n'
  printf '|---:|---:|---:|---:|\n'
  join -t$'\t' <(tail -n +2 "$work/echo.tsv" | cut -f2,4 | sort) \
    <(tail -n +2 "$work/forecast.tsv" | cut -f2,4,5,7 | sort) |
    join -t$'\t' - <(tail -n +2 "$work/flask.tsv" | cut -f2,4 | sort) |
    sort -n | awk -F'\t' '{
      printf "| %s | %.2f | %.1f | %.2f |\n", $1,
        ($2 > 0 ? $3 / $2 : 0), ($6 > 0 ? $3 / $6 : 0),
        ($4 > 0 ? $5 / $4 : 0)}'
  echo
  echo "Dynamic batching (same sweep; forecast is the default, greedy):"
  echo
  printf '| conc | off QPS | greedy QPS | 500 us QPS | greedy / off | 500 us / off | off p99 | greedy p99 | 500 us p99 |\n'
  printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
  join -t$'\t' <(tail -n +2 "$work/unbatched.tsv" | cut -f2,4,7 | sort) \
    <(tail -n +2 "$work/forecast.tsv" | cut -f2,4,7 | sort) |
    join -t$'\t' - <(tail -n +2 "$work/waiting.tsv" | cut -f2,4,7 | sort) |
    sort -n | awk -F'\t' '{
      printf "| %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.3f | %.3f | %.3f |\n",
        $1, $2, $4, $6, ($2 > 0 ? $4 / $2 : 0), ($2 > 0 ? $6 / $2 : 0),
        $3, $5, $7}'
  echo
  # Half of peak, from the open loop.
  tail -n +2 "$work/half-peak.tsv" | awk -F'\t' '{
    printf "Half of peak, open loop: %.0f QPS offered, %.0f answered, %s " \
      "late; p50 %.3f ms, p99 %.3f ms: p99/p50 = %.2f (target <= 3)\n",
      $11, $4, $12, $5, $7, ($5 > 0 ? $7 / $5 : 0)}'
  echo
  echo "RSS: idle server (empty store) $idle_rss MiB; one model loaded" \
    "$one_model_rss MiB; after the sweeps $serving_rss MiB."
} | tee "$work/results.md"

step "Steady Forecast at concurrency 16 for ${reload_run} s, then the same" \
  "with a new version every 5 s"
run_loadgen forecast 16 "$reload_run" "$work/steady16.tsv"
versions_before=$(metric "$metrics_port" \
  'gridcast_inference_versions{state="ready"}')
"$bench_store" republish --store="$work/store" --from=bench-feeder \
  --every_ms=5000 --times=$((reload_run / 5)) > "$work/republish.txt" &
pids+=($!)
republish_pid=$!
run_loadgen forecast 16 "$reload_run" "$work/reload16.tsv"
wait "$republish_pid" || true
sleep 2  # let the last publish be polled (0.5 s) before reading the count
served=$("$ctl" models get bench-feeder 2> /dev/null |
  awk '/served/ {print; exit}' || true)
{
  echo
  echo "Reloads during load (Forecast, concurrency 16, ${reload_run} s each):"
  echo
  printf '| run | QPS | p50 | p99 | p99.9 | max | errors |\n'
  printf '|---|---:|---:|---:|---:|---:|---|\n'
  for run in steady16 reload16; do
    tail -n +2 "$work/$run.tsv" | awk -F'\t' -v run="$run" '{
      printf "| %s | %.0f | %.3f | %.3f | %.3f | %.3f | %s |\n",
        run, $4, $5, $7, $8, $9, $10}'
  done
  paste <(tail -n +2 "$work/steady16.tsv" | cut -f7) \
    <(tail -n +2 "$work/reload16.tsv" | cut -f7) | awk -F'\t' '{
      printf "\np99 with reloads / steady p99 = %.2f (target <= 1.5)\n", $2 / $1}'
  echo "versions published during the run: $(grep -c published "$work/republish.txt")"
  echo "swaps logged by inference: $(grep -c 'event=version_swapped model=bench-feeder' "$work/inference.log")"
  echo "model state after: $served"
} | tee -a "$work/results.md"

step "$model_count registered models"
"$bench_store" copy --store="$work/store" --from=bench-feeder \
  --prefix=bench-m- --count="$model_count" > /dev/null
started=$(date +%s.%N)
start_inference "$work/store" "$many_port" "$many_metrics_port" \
  "$work/many.log" --max_loaded_versions=$((model_count + 10))
many_pid=${pids[-1]}
want=$((model_count + 1))
for _ in $(seq 1 1200); do
  ready=$(metric "$many_metrics_port" 'gridcast_inference_models')
  # A model's first version is logged as loaded, not as a swap.
  loaded=$(awk '/event=version_loaded/ {n++} END {print n + 0}' \
    "$work/many.log")
  ((loaded >= want)) && break
  sleep 0.5
done
all_loaded=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
many_rss=$(rss_mib "$many_pid")
load_count=$(metric "$many_metrics_port" gridcast_inference_load_seconds_count)
load_sum=$(metric "$many_metrics_port" gridcast_inference_load_seconds_sum)
last_model=$(printf 'bench-m-%04d' $((model_count - 1)))
first_forecast=$("$ctl" --forecaster="127.0.0.1:$many_port" forecast \
  --model "$last_model" --history "$work/feeder.csv" --format csv > /dev/null \
  2>&1 && echo ok || echo failed)
{
  echo
  echo "$model_count registered models (+ bench-feeder), one version each:"
  echo
  echo "- models known: $ready; versions loaded: $loaded"
  echo "- start to all loaded: $all_loaded s; RSS then: $many_rss MiB"
  awk -v c="$load_count" -v s="$load_sum" 'BEGIN {
    if (c > 0) printf "- load latency per version (read, sha256, build, smoke): %.1f ms mean over %d\n", 1000 * s / c, c }'
  echo "- a forecast from $last_model: $first_forecast"
} | tee -a "$work/results.md"

step "ForecastBatch: $model_count feeders, each its own model, in one call"
"$loadgen" --target="127.0.0.1:$many_port" --method=batch \
  --model_count="$model_count" --batch_items="$model_count" \
  --concurrency=1 --duration_s="$duration" --format=tsv \
  > "$work/batch.tsv" || true
{
  echo
  echo "ForecastBatch of $model_count items (one per model), concurrency 1:"
  echo
  printf '| calls | calls/s | feeders/s | p50 ms | p99 ms | max ms | errors |\n'
  printf '|---:|---:|---:|---:|---:|---:|---|\n'
  tail -n +2 "$work/batch.tsv" | awk -F'\t' -v n="$model_count" '{
    printf "| %s | %.1f | %.0f | %.1f | %.1f | %.1f | %s |\n",
      $3, $4, $4 * n, $5, $7, $9, $10}'
} | tee -a "$work/results.md"
kill -TERM "$many_pid"
wait "$many_pid" || true

step "LRU: $model_count models, lazy loads, at most 100 kept loaded"
start_inference "$work/store" "$lru_port" "$lru_metrics_port" \
  "$work/lru.log" --load_mode=lazy --max_loaded_versions=100
lru_pid=${pids[-1]}
sleep 2  # the first poll finds the models; nothing loads until asked.
lru_idle_rss=$(rss_mib "$lru_pid")
# 100 models: a cold load each on the first round, then warm hits.
"$loadgen" --target="127.0.0.1:$lru_port" --method=forecast \
  --model_count=100 --concurrency=1 --warmup_s=0 --duration_s="$duration" \
  --format=tsv > "$work/lru-100.tsv" || true
lru_100_rss=$(rss_mib "$lru_pid")
loads_after_100=$(metric "$lru_metrics_port" \
  gridcast_inference_load_seconds_count)
# All of them round robin: with 100 slots, nearly every call is a miss
# that loads its version and evicts the least recently used one.
"$loadgen" --target="127.0.0.1:$lru_port" --method=forecast \
  --model_count="$model_count" --concurrency=4 --warmup_s=0 \
  --duration_s="$duration" --format=tsv > "$work/lru-all.tsv" || true
lru_all_rss=$(rss_mib "$lru_pid")
loads_after_all=$(metric "$lru_metrics_port" \
  gridcast_inference_load_seconds_count)
lru_load_sum=$(metric "$lru_metrics_port" gridcast_inference_load_seconds_sum)
evictions=$(grep -c 'event=version_evicted' "$work/lru.log" || true)
{
  echo
  echo "LRU ($model_count models, --load_mode=lazy --max_loaded_versions=100):"
  echo
  printf '| run | QPS | p50 ms | p99 ms | max ms | errors |\n'
  printf '|---|---:|---:|---:|---:|---|\n'
  for run in lru-100 lru-all; do
    tail -n +2 "$work/$run.tsv" | awk -F'\t' -v run="$run" '{
      printf "| %s | %.0f | %.3f | %.3f | %.3f | %s |\n",
        run, $4, $5, $7, $9, $10}'
  done
  echo
  echo "- RSS: idle $lru_idle_rss MiB; 100 loaded $lru_100_rss MiB;" \
    "after cycling all $model_count: $lru_all_rss MiB"
  echo "- versions loaded: $loads_after_100 in the 100-model run," \
    "$loads_after_all in all; evictions logged: $evictions"
  awk -v c="$loads_after_all" -v s="$lru_load_sum" 'BEGIN {
    if (c > 0) printf "- load latency per version: %.1f ms mean over %d\n", 1000 * s / c, c }'
} | tee -a "$work/results.md"

echo >&2
echo "results: $work/results.md" >&2
