#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
# This is the README's second command and what CI runs.
set -euo pipefail

cd "$(dirname "$0")/.."
tools/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
