#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite:
# the normal build, the same suite again under ASan and UBSan (build-
# sanitize), and every fuzz target for a bounded time (build-fuzz, clang).
# This is the README's second command and what CI runs.
#
# GRIDCAST_SANITIZE=0 or GRIDCAST_FUZZ=0 skips that phase;
# GRIDCAST_FUZZ_SECONDS sets the time per fuzz target (default 30).
set -euo pipefail

cd "$(dirname "$0")/.."

# Wall time and the CPU time (user + system) of each phase; on a shared
# machine the CPU time tells what the phase would take on its own.
timings=()
phase_start=0
phase_cpu=0
times_file=$(mktemp)
# Sets $cpu to the children's user + system seconds so far. `times` runs
# in this shell (a subshell would see only its own children).
read_cpu() {
  times > "$times_file"
  cpu=$(sed -n 2p "$times_file" | awk '{
    total = 0
    for (i = 1; i <= 2; i++) {
      split($i, part, "m"); sub("s", "", part[2])
      total += part[1] * 60 + part[2]
    }
    printf "%d", total }')
}
begin() {
  echo "test.sh: === $1"
  phase=$1
  phase_start=$SECONDS
  read_cpu
  phase_cpu=$cpu
}
end() {
  read_cpu
  timings+=("$(printf '%-22s %5d s wall %6d s cpu' "$phase" \
    $((SECONDS - phase_start)) $((cpu - phase_cpu)))")
}
report() {
  echo "test.sh: phase timings (total $SECONDS s wall)"
  printf '  %s\n' "${timings[@]}"
}
trap 'report; rm -f "$times_file"' EXIT

begin "install dependencies"
tools/install-deps.sh
end

jobs=$(nproc)
begin "build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
end
begin "ctest"
ctest --test-dir build --output-on-failure -j "$jobs"
end

if [[ ${GRIDCAST_SANITIZE:-1} != 0 ]]; then
  # The sanitizer build's tests find buf and kubectl where install-deps.sh
  # put them, under build/tools/.
  mkdir -p build-sanitize/tools
  for tool in buf k8s; do
    ln -sfn ../../build/tools/$tool build-sanitize/tools/$tool
  done
  begin "build (ASan+UBSan)"
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DGRIDCAST_SANITIZE=ON
  cmake --build build-sanitize -j "$jobs"
  end
  begin "ctest (ASan+UBSan)"
  ctest --test-dir build-sanitize --output-on-failure -j "$jobs"
  end
fi

if [[ ${GRIDCAST_FUZZ:-1} != 0 ]]; then
  begin "build (fuzz, clang)"
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DGRIDCAST_FUZZ=ON
  cmake --build build-fuzz -j "$jobs"
  ctest --test-dir build-fuzz --output-on-failure -j "$jobs"
  end
  begin "fuzz runs"
  tests/fuzz/run.sh build-fuzz "${GRIDCAST_FUZZ_SECONDS:-30}"
  end
fi
