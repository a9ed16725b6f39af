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

step() { printf '\n== %s\n' "$*"; }

source tools/lib/servers.sh
step "Starting the trainer (:$trainer_port) and inference (:$inference_port)"
start_servers "$build" "$demo" "$trainer_port" "$inference_port"

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
