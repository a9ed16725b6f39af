#!/usr/bin/env bash
# Runs the demo on binaries already built in the build folder given
# (default build/): both servers on loopback over a fresh store in
# <build>/demo/, a synthetic feeder uploaded, trained, served and forecast.
# Stops both servers on the way out, also on failure or Ctrl-C. The ports
# can be moved with GRIDCAST_DEMO_TRAINER_PORT and _INFERENCE_PORT.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-build}

demo=$build/demo
trainer_port=${GRIDCAST_DEMO_TRAINER_PORT:-50051}
inference_port=${GRIDCAST_DEMO_INFERENCE_PORT:-50052}
rm -rf "$demo"
mkdir -p "$demo"

pids=()
stop_servers() {
  local status=$? pid code
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do
    code=0
    wait "$pid" 2> /dev/null || code=$?
    if ((code != 0)); then
      echo "demo: server $pid exited with $code after SIGTERM" >&2
      status=1
    fi
  done
  exit "$status"
}
trap stop_servers EXIT

step() { printf '\n== %s\n' "$*"; }

step "Starting the trainer (:$trainer_port) and inference (:$inference_port)"
"$build/trainer/gridcast-trainer" --store="$demo/store" \
  --listen="127.0.0.1:$trainer_port" 2> "$demo/trainer.log" &
pids+=($!)
"$build/inference/gridcast-inference" --store="$demo/store" \
  --listen="127.0.0.1:$inference_port" --poll_interval_ms=500 \
  2> "$demo/inference.log" &
pids+=($!)
echo "logs: $demo/trainer.log, $demo/inference.log"

# Waits until a server logs that it listens, or fails if it died.
wait_listening() {
  local log=$1 event=$2 pid=$3
  for _ in $(seq 1 300); do
    grep -q "event=$event" "$log" && return 0
    if ! kill -0 "$pid" 2> /dev/null; then
      echo "demo: the server failed to start; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "demo: no '$event' in $log after 30 s" >&2
  return 1
}
wait_listening "$demo/trainer.log" trainer_listening "${pids[0]}"
wait_listening "$demo/inference.log" inference_listening "${pids[1]}"

export GRIDCAST_TRAINER="127.0.0.1:$trainer_port"
export GRIDCAST_FORECASTER="127.0.0.1:$inference_port"
ctl=$build/tools/gridcastctl

step "Generating 26 weeks of hourly load for feeder-17"
"$ctl" sample --out "$demo/feeder-17.csv" --days 182 --seed 17
head -4 "$demo/feeder-17.csv"

step "Uploading it"
dataset=$("$ctl" upload --file "$demo/feeder-17.csv" --series feeder-17 \
  --covariate temperature_c --quiet)
"$ctl" datasets get "$dataset"

step "Training a network on it (seasonal naive is the bar to beat)"
"$ctl" train --model feeder-17 --dataset "$dataset" --epochs 40

step "Waiting for inference to serve version 1"
"$ctl" models get feeder-17 --wait-version 1 --wait-timeout 60

step "Day-ahead forecast from the last week of history"
"$ctl" forecast --model feeder-17 --history "$demo/feeder-17.csv"
