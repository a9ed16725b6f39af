#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, then runs
# gridcast end to end on this machine. Both servers listen on loopback over
# a store folder in build/demo/; a synthetic feeder history is uploaded,
# a network trained on it, and once inference serves the new version a
# 24-hour forecast is printed. Both servers are stopped on the way out.
set -euo pipefail

cd "$(dirname "$0")/.."
tools/install-deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j "$(nproc)" \
  --target gridcast-trainer gridcast-inference gridcastctl

exec tools/demo-run.sh build
