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

echo "| threads | gridcast trainer (samples/s) | PyTorch (samples/s) | ratio |"
echo "| --- | --- | --- | --- |"
for threads in 1 2; do
  ours=$("$build/tools/gridcast-accuracy-bench" --data "$data" \
    --experiments=speed --threads="$threads" |
    sed -n 's/.*samples_per_second=\([0-9]*\).*/\1/p')
  theirs=$("$python" tools/accuracy/train_speed.py --threads "$threads" \
    --epochs 3 | sed -n 's/.*samples_per_second=\([0-9]*\).*/\1/p')
  ratio=$("$python" -c "print(f'{$ours / $theirs:.2f}')")
  echo "| $threads | $ours | $theirs | ${ratio}x |"
done
