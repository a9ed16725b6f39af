#!/usr/bin/env bash
# A rehearsal of the Kubernetes deployment on loopback, with the real
# binaries: one trainer and three inference replicas over one store folder,
# as the Deployments run them over the ReadWriteMany volume. It trains and
# publishes a model, checks that each replica serves it (asking each one
# directly), then keeps Forecast calls flowing round_robin over the three
# while each replica in turn is stopped with SIGTERM and started again, as
# a rolling update or a node drain does. It fails if any call fails.
#
#   tools/rehearsal.sh [BUILD_DIR]
#
# Ports: GRIDCAST_REHEARSAL_PORT_BASE (default 30171, below the range the
# kernel hands out to outgoing connections) for the trainer and the three
# next ones for the replicas. Logs in BUILD_DIR/rehearsal/.
# GRIDCAST_REHEARSAL_CLIENT_FLAGS adds flags to the client, e.g.
# "--health_check=false" to see what a client without health checking gets.
set -euo pipefail

cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
port_base=${GRIDCAST_REHEARSAL_PORT_BASE:-30171}
trainer_port=$port_base
replica_ports=($((port_base + 1)) $((port_base + 2)) $((port_base + 3)))
# Short, so that the rehearsal is quick; in Kubernetes it is 20 s.
grace_ms=5000
# Health says NOT_SERVING this long before the replica stops taking calls,
# so that the client's health checks move it away (Kubernetes: 3 s).
drain_delay_ms=1000

work=$build/rehearsal
rm -rf "$work"
mkdir -p "$work"
ctl=$build/tools/gridcastctl
client_pid=""

step() { printf '\n== %s\n' "$*"; }

source tools/lib/servers.sh
stop_client() {
  local status=$?
  [[ -n $client_pid ]] && kill "$client_pid" 2> /dev/null || true
  # stop_servers exits with the status it finds in $?; errexit would end
  # the trap at a failing `(exit 1)` and leave the servers running.
  set +e
  (exit "$status")
  stop_servers
}
trap stop_client EXIT

# Replica i (0-based): its address, and starting it (pid in server_pids).
replica_address() { echo "127.0.0.1:${replica_ports[$1]}"; }
start_replica() {
  local i=$1
  "$build/inference/gridcast-inference" --store="$work/store" \
    --listen="$(replica_address "$i")" --poll_interval_ms=500 \
    --shutdown_grace_ms=$grace_ms --drain_delay_ms=$drain_delay_ms \
    2>> "$work/inference-$i.log" &
  server_pids[$((i + 1))]=$!
}
wait_replica_listening() {
  local i=$1 log=$work/inference-$1.log
  # A restarted replica appends to its log: count "listening" lines.
  local before=$2
  for _ in $(seq 1 300); do
    (($(grep -c 'event=inference_listening' "$log") > before)) && return 0
    if ! kill -0 "${server_pids[$((i + 1))]}" 2> /dev/null; then
      echo "rehearsal: replica $i failed to start:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "rehearsal: replica $i did not listen within 30 s" >&2
  return 1
}

step "Starting the trainer (:$trainer_port) and three replicas" \
  "(:${replica_ports[*]})"
"$build/trainer/gridcast-trainer" --store="$work/store" \
  --listen="127.0.0.1:$trainer_port" --shutdown_grace_ms=$grace_ms \
  2> "$work/trainer.log" &
server_pids[0]=$!
wait_listening "$work/trainer.log" trainer_listening "${server_pids[0]}"
for i in 0 1 2; do
  : > "$work/inference-$i.log"
  start_replica "$i"
done
for i in 0 1 2; do wait_replica_listening "$i" 0; done
export GRIDCAST_TRAINER="127.0.0.1:$trainer_port"

step "Training and publishing model 'rehearsal'"
"$ctl" sample --out "$work/feeder.csv" --days 42 --seed 5
dataset=$("$ctl" upload --file "$work/feeder.csv" --series rehearsal-feeder \
  --quiet)
# Three epochs may lose to seasonal naive; serving, not accuracy, is
# rehearsed here, so the quality gate is waived.
"$ctl" train --model rehearsal --dataset "$dataset" --epochs 3 \
  --allow-rejected

step "Each replica serves version 1 (asked directly)"
for i in 0 1 2; do
  "$ctl" --forecaster="$(replica_address "$i")" models get rehearsal \
    --wait-version 1 --wait-timeout 60 > "$work/models-$i.txt"
  "$ctl" --forecaster="$(replica_address "$i")" forecast --model rehearsal \
    --history "$work/feeder.csv" --format json > "$work/forecast-$i.json"
  grep -q '"version": *"\?1"\?' "$work/forecast-$i.json" || {
    echo "rehearsal: replica $i did not forecast with version 1:" >&2
    cat "$work/forecast-$i.json" >&2
    exit 1
  }
  echo "replica $i ($(replica_address "$i")) forecasts with version 1"
done

step "Forecast calls round_robin over the three replicas"
targets=$(for i in 0 1 2; do replica_address "$i"; done | paste -sd,)
"$build/tools/gridcast-rehearsal-client" --targets="$targets" \
  --model=rehearsal --stop_file="$work/stop" \
  --status_file="$work/client.status" --max_seconds=240 \
  ${GRIDCAST_REHEARSAL_CLIENT_FLAGS:-} \
  > "$work/client.out" 2> "$work/client.err" &
client_pid=$!
calls() { sed -n 's/^calls=\([0-9]*\).*/\1/p' "$work/client.status" \
  2> /dev/null || true; }
# Waits until the client has made `count` more calls than now.
wait_calls() {
  local target=$(($(calls || echo 0) + $1))
  for _ in $(seq 1 300); do
    (($(calls || echo 0) + 0 >= target)) && return 0
    kill -0 "$client_pid" 2> /dev/null || return 0
    sleep 0.1
  done
}
wait_calls 200
echo "load is flowing: $(cat "$work/client.status")"

# Each replica in turn, as a rolling update replaces them.
for victim in 0 1 2; do
  step "SIGTERM to replica $victim under load, then starting it again"
  kill -TERM "${server_pids[$((victim + 1))]}"
  code=0
  wait "${server_pids[$((victim + 1))]}" || code=$?
  if ((code != 0)); then
    echo "rehearsal: replica $victim exited with $code after SIGTERM" >&2
    exit 1
  fi
  grep -E 'event=inference_(draining|stopped)' "$work/inference-$victim.log"
  echo "replica $victim exited 0; calls so far: $(cat "$work/client.status")"
  start_replica "$victim"
  wait_replica_listening "$victim" 1
  "$ctl" --forecaster="$(replica_address "$victim")" models get rehearsal \
    --wait-version 1 --wait-timeout 60 > /dev/null
  echo "replica $victim is back and serves version 1"
  wait_calls 200
done

step "Every replica answers again; no call may have failed"
touch "$work/stop"
client_code=0
wait "$client_pid" || client_code=$?
client_pid=""
cat "$work/client.out"
if ((client_code != 0)); then
  echo "rehearsal: the client saw failures; first ones:" >&2
  head -20 "$work/client.err" >&2
  exit 1
fi
echo "rehearsal: passed"
