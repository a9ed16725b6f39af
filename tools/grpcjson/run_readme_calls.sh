#!/usr/bin/env bash
# Runs the README's grpcurl calls, exactly as written there, against real
# servers, through a generic client that learns every message type from
# server reflection: build/tools/grpcjson (CLIENT=grpcjson) or buf curl
# (CLIENT=buf), standing in for grpcurl, which Debian 12 and npm do not
# ship. Checks that the calls name every RPC the servers list through
# reflection (so a new RPC fails here until the README shows it) and that
# the answers are the ones docs/api.md describes.
#
#   tools/grpcjson/run_readme_calls.sh BUILD_DIR TRAINER_PORT INFERENCE_PORT CLIENT
set -euo pipefail

cd "$(dirname "$0")/../.."
build=${1:-build}
trainer_port=${2:-30311}
inference_port=${3:-30312}
client=${4:-grpcjson}
work=$build/readme-calls-$client
rm -rf "$work"
mkdir -p "$work"

fail() {
  echo "readme-calls: $*" >&2
  exit 1
}

# The block between the markers in README.md, without its fences.
sed -n '/<!-- grpcurl-calls:begin -->/,/<!-- grpcurl-calls:end -->/p' \
  README.md | grep -v -e '^<!--' -e '^```' > "$work/calls.sh"
[[ -s $work/calls.sh ]] || fail "no grpcurl-calls block in README.md"

source tools/lib/servers.sh
start_servers "$build" "$work" "$trainer_port" "$inference_port"

# Every RPC that the servers offer, as their reflection lists them, is
# called in the block: a new RPC fails this test until the README shows it.
rpcs=$(
  for address in "127.0.0.1:$trainer_port" "127.0.0.1:$inference_port"; do
    for service in $("$build/tools/grpcjson" -plaintext "$address" list |
      grep '^gridcast\.'); do
      "$build/tools/grpcjson" -plaintext "$address" list "$service"
    done
  done | sed 's/\.\([^.]*\)$/\/\1/'
)
(($(wc -l <<< "$rpcs") >= 12)) || fail "reflection listed only: $rpcs"
for rpc in $rpcs; do
  grep -q " $rpc" "$work/calls.sh" || fail "README calls no $rpc"
  grep -qx "### ${rpc#*/}" docs/api.md || fail "docs/api.md has no ${rpc#*/}"
done

# The servers answer on these ports rather than the README's.
sed -i -e "s/localhost:50051/127.0.0.1:$trainer_port/g" \
  -e "s/localhost:50052/127.0.0.1:$inference_port/g" "$work/calls.sh"

case $client in
  grpcjson)
    cat > "$work/client.sh" << EOF
grpcurl() { "$build/tools/grpcjson" "\$@" | tee -a "$work/answers.json"; }
EOF
    ;;
  buf)
    buf=$build/tools/buf/node_modules/.bin/buf
    [[ -x $buf ]] || fail "buf is not installed (tools/install-deps.sh)"
    # grpcurl's arguments in buf curl's terms: -plaintext is HTTP/2
    # without TLS, -d @ reads stdin, ADDRESS SERVICE/METHOD is one URL.
    cat > "$work/client.sh" << EOF
grpcurl() {
  local data=() words=()
  while ((\$# > 0)); do
    case \$1 in
      -plaintext) ;;
      -d) data=(-d "\${2/#@/@-}"); shift ;;
      *) words+=("\$1") ;;
    esac
    shift
  done
  if [[ \${words[1]} == list ]]; then
    "$buf" curl --protocol grpc --http2-prior-knowledge --list-services \
      "http://\${words[0]}"
    return
  fi
  "$buf" curl --protocol grpc --http2-prior-knowledge "\${data[@]}" \
    "http://\${words[0]}/\${words[1]}" | tee -a "$work/answers.json"
}
EOF
    ;;
  *) fail "unknown client $client" ;;
esac

echo "running the README's calls with $client"
# A shell of its own, so that errexit holds for every call in the block.
bash -euo pipefail -c "source '$work/client.sh'; source '$work/calls.sh'" \
  > "$work/output.log" 2>&1 || {
  cat "$work/output.log" >&2
  fail "a README call failed with $client"
}

# The answers are the ones the docs show.
expect() {
  grep -Eq "$1" "$work/answers.json" || {
    cat "$work/output.log" >&2
    fail "no answer matched $1"
  }
}
dataset=$(grep -o 'ds-[0-9a-f]*' docs/examples/GetDataset.json)
expect "\"id\": \"$dataset\""
expect '"points": "240"'
expect '"state": "JOB_STATE_SUCCEEDED"'
expect '"publishedVersion": "1"'
expect '"beatsBaseline": true'
expect '"servedVersion": "1"'
expect '"state": "VERSION_STATE_READY"'
expect '"base": \{'
expect '"timestamps": \['
expect '"status": "SERVING"'
echo "readme-calls: every README call answered as documented ($client)"
