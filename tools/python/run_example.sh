#!/usr/bin/env bash
# Runs scada_example.py against real servers: generates the Python stubs
# from proto/ with Debian's protoc and grpc_python_plugin, starts both
# servers on the given ports, makes a sample CSV and runs the example.
#
#   tools/python/run_example.sh [BUILD_DIR] [TRAINER_PORT] [INFERENCE_PORT]
set -euo pipefail

cd "$(dirname "$0")/../.."
build=${1:-build}
trainer_port=${2:-50051}
inference_port=${3:-50052}
work=$build/python-example
rm -rf "$work"
mkdir -p "$work/stubs"

protoc --proto_path=proto --python_out="$work/stubs" \
  --grpc_out="$work/stubs" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" \
  $(cd proto && find gridcast -name '*.proto' | sort)

source tools/lib/servers.sh
start_servers "$build" "$work" "$trainer_port" "$inference_port"

"$build/tools/gridcastctl" sample --out "$work/feeder.csv" --days 120
PYTHONPATH="$work/stubs" /usr/bin/python3 tools/python/scada_example.py \
  --trainer="127.0.0.1:$trainer_port" \
  --forecaster="127.0.0.1:$inference_port" \
  --csv "$work/feeder.csv" --epochs 10
