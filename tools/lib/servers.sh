# Sourced by the demo and example scripts: starts a trainer and an
# inference server on loopback over one store, waits until both listen,
# and stops them with SIGTERM on exit, failing if either exits non-zero.
#
#   start_servers BUILD_DIR WORK_DIR TRAINER_PORT INFERENCE_PORT

server_pids=()

stop_servers() {
  local status=$? pid code
  for pid in "${server_pids[@]}"; do
    kill -TERM "$pid" 2> /dev/null || true
  done
  for pid in "${server_pids[@]}"; do
    code=0
    wait "$pid" 2> /dev/null || code=$?
    if ((code != 0)); then
      echo "servers: $pid exited with $code after SIGTERM" >&2
      status=1
    fi
  done
  exit "$status"
}

# Waits until a server logs that it listens, or fails if it died.
wait_listening() {
  local log=$1 event=$2 pid=$3
  for _ in $(seq 1 300); do
    grep -q "event=$event" "$log" && return 0
    if ! kill -0 "$pid" 2> /dev/null; then
      echo "servers: a server failed to start; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "servers: no '$event' in $log after 30 s" >&2
  return 1
}

start_servers() {
  local build=$1 work=$2 trainer_port=$3 inference_port=$4
  trap stop_servers EXIT

  "$build/trainer/gridcast-trainer" --store="$work/store" \
    --listen="127.0.0.1:$trainer_port" 2> "$work/trainer.log" &
  server_pids+=($!)
  "$build/inference/gridcast-inference" --store="$work/store" \
    --listen="127.0.0.1:$inference_port" --poll_interval_ms=500 \
    2> "$work/inference.log" &
  server_pids+=($!)
  echo "logs: $work/trainer.log, $work/inference.log"

  wait_listening "$work/trainer.log" trainer_listening "${server_pids[0]}"
  wait_listening "$work/inference.log" inference_listening "${server_pids[1]}"
  export GRIDCAST_TRAINER="127.0.0.1:$trainer_port"
  export GRIDCAST_FORECASTER="127.0.0.1:$inference_port"
}
