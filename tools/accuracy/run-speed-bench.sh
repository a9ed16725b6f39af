#!/usr/bin/env bash
# Training speed, side by side in one run: the same perceptron, batch size
# and thread count in gridcast's trainer and in PyTorch (Debian's
# python3-torch), samples per second. Usage, from the repository root after
# a build:  tools/accuracy/run-speed-bench.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
data=../shared/data/ETTh1.csv
if [[ ! -f $data ]]; then echo "skipped: $data is absent"; exit 0; fi
# Debian's interpreter, which Debian's python3-torch is for (not whatever
# python3 comes first on PATH).
python=/usr/bin/python3
if ! "$python" -c "import torch" 2>/dev/null; then
  sudo_=""; [[ $(id -u) -ne 0 ]] && sudo_=sudo
  $sudo_ apt-get install -y python3-torch >/dev/null
fi

# Both sides run under the same OpenMP wait policy: PASSIVE, the one the
# servers choose for themselves (idle threads sleep; see
# UsePassiveOpenMpWaits), then ACTIVE (idle threads spin), which is close
# to OpenMP's own default and fastest with two threads on an idle machine.
policies=${POLICIES:-PASSIVE ACTIVE}
rounds=${ROUNDS:-3}

# Samples per second of one side at $1 threads.
ours() {
  "$build/tools/gridcast-accuracy-bench" --data "$data" \
    --experiments=speed --threads="$1" |
    sed -n 's/.*samples_per_second=\([0-9]*\).*/\1/p'
}
theirs() {
  "$python" tools/accuracy/train_speed.py --threads "$1" --epochs 3 |
    sed -n 's/.*samples_per_second=\([0-9]*\).*/\1/p'
}

# Rounds alternate the two sides, so that what else the machine does
# falls on both; the median ratio is the result.
echo "| OMP_WAIT_POLICY | threads | round | gridcast trainer (samples/s) | PyTorch (samples/s) | ratio |"
echo "| --- | --- | --- | --- | --- | --- |"
for policy in $policies; do
  export OMP_WAIT_POLICY=$policy
  for threads in 1 2; do
    ratios=()
    for ((round = 1; round <= rounds; ++round)); do
      a=$(ours "$threads")
      b=$(theirs "$threads")
      ratio=$("$python" -c "print(f'{$a / $b:.2f}')")
      ratios+=("$ratio")
      echo "| $policy | $threads | $round | $a | $b | ${ratio}x |"
    done
    median=$(printf '%s\n' "${ratios[@]}" | sort -n |
      awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "| $policy | $threads | median | | | **${median}x** |"
  done
done
