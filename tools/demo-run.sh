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

# More than a year, so that the network has seen how load answers to the
# temperature of every season: trained on January to May only, it would
# meet summer's cooling load for the first time in the held-out tail and
# lose to seasonal naive there.
step "Generating 13 months of hourly load and temperature for feeder-17"
"$ctl" sample --out "$demo/feeder-17-all.csv" --days 400 --seed 17
head -4 "$demo/feeder-17-all.csv"

# The last day is held back: its temperature plays the weather forecast the
# model is given, its load the actuals the forecast is checked against.
head -n -24 "$demo/feeder-17-all.csv" > "$demo/feeder-17.csv"
{
  echo "timestamp,temperature_c"
  tail -n 24 "$demo/feeder-17-all.csv" | cut -d, -f1,3
} > "$demo/temperature-forecast.csv"
{
  echo "timestamp,actual_kw,temperature_c"
  tail -n 24 "$demo/feeder-17-all.csv"
} > "$demo/actual.csv"

step "Uploading the history (all but the last day)"
dataset=$("$ctl" upload --file "$demo/feeder-17.csv" --series feeder-17 \
  --covariate temperature_c --quiet)
"$ctl" datasets get "$dataset"

step "Training a network on it, with temperature and an 80% band"
# DLinear over two weeks of history trains in seconds. The quality gate
# refuses to serve a version that loses to seasonal naive (the same hour
# yesterday, or last week) on the held-out tail.
"$ctl" train --model feeder-17 --dataset "$dataset" --epochs 40 \
  --family dlinear --window 336 --covariate temperature_c \
  --quantiles 0.1,0.9

step "Waiting for inference to serve version 1"
"$ctl" models get feeder-17 --wait-version 1 --wait-timeout 60

step "Day-ahead forecast for the held-back day, from its temperature forecast"
"$ctl" forecast --model feeder-17 --history "$demo/feeder-17.csv" \
  --future "$demo/temperature-forecast.csv" --format csv \
  > "$demo/forecast.csv"
"$ctl" forecast --model feeder-17 --history "$demo/feeder-17.csv" \
  --future "$demo/temperature-forecast.csv" --plot "$demo/forecast.svg" \
  --plot-history 168

step "Against the actual load of that day"
# Same-hour-last-week is what a control room would do by hand.
paste -d, "$demo/forecast.csv" "$demo/actual.csv" |
  awk -F, -v history="$demo/feeder-17.csv" '
    BEGIN {
      n = 0
      while ((getline line < history) > 0) rows[n++] = line
    }
    NR == 1 { next }
    {
      split(rows[n - 168 + NR - 2], week_ago, ",")
      forecast_error += ($2 > $(NF - 1) ? $2 - $(NF - 1) : $(NF - 1) - $2)
      naive_error += (week_ago[2] > $(NF - 1) ? week_ago[2] - $(NF - 1) \
                                               : $(NF - 1) - week_ago[2])
      if ($(NF - 1) >= $3 && $(NF - 1) <= $4) inside++
      points++
    }
    END {
      printf "mean absolute error over %d hours: forecast %.1f kW, " \
             "same hour last week %.1f kW\n", points,
             forecast_error / points, naive_error / points
      printf "hours whose actual load was inside the 80%% band: %d of %d\n",
             inside, points
    }'
