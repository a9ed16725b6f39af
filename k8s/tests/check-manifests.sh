#!/usr/bin/env bash
# Renders every overlay in k8s/overlays/ with kustomize (kubectl's) and
# validates each object offline against the Kubernetes API schemas and
# gridcast's rules, so that `kubectl apply -k k8s/overlays/<name>` would
# be accepted. Then proves the validator can fail: every file in
# k8s/tests/broken/ and every mutation below must be refused.
#
#   k8s/tests/check-manifests.sh TOOLS_DIR
#
# TOOLS_DIR holds bin/kubectl and node_modules/ (tools/install-deps.sh puts
# them in build/tools/k8s). Needs no network and no cluster.
set -euo pipefail

cd "$(dirname "$0")/../.."
tools=$(realpath "$1")
kubectl=$tools/bin/kubectl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

validate() {
  node k8s/tests/validate.mjs --modules "$tools/node_modules" "$@"
}

# A refusal is the validator's own verdict (exit 1 after counting
# problems), never a crash that happens to exit non-zero.
refused() {
  local code=0
  validate "$@" > "$work/out" 2>&1 || code=$?
  ((code == 1)) && grep -qE '^validate: [0-9]+ objects, [1-9][0-9]* problems$' \
    "$work/out"
}

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

echo "== kubectl $("$kubectl" version --client | tr '\n' ' ')"

for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  echo "== overlay $name"
  # kustomize prints deprecation warnings on stderr; a clean overlay has
  # none, so that operators' newer kubectl keeps accepting it.
  if ! "$kubectl" kustomize "$overlay" > "$work/$name.yaml" \
      2> "$work/$name.err" || [[ -s $work/$name.err ]]; then
    cat "$work/$name.err"
    fail "kustomize could not render $overlay cleanly"
    continue
  fi
  validate "$work/$name.yaml" || fail "overlay $name is not valid"
done

echo "== Secret templates"
validate --no-rules k8s/secrets/*.yaml || fail "a Secret template is not valid"

echo "== self-test: broken objects must be refused"
for broken in k8s/tests/broken/*.yaml; do
  if ! refused --no-rules "$broken"; then
    cat "$work/out"
    fail "$broken was not refused"
  else
    echo "refused as it should be: $broken ($(grep -v '^validate:' \
      "$work/out" | head -1 | cut -d: -f3-))"
  fi
done

echo "== self-test: a rendered overlay that breaks a rule must be refused"
"$kubectl" kustomize k8s/overlays/dev > "$work/base.yaml"
mutations=(
  's/^\( *\)grpc:$/\1exec:/'                            # probes not gRPC
  '/readOnly: true/d'                                    # store writable
  's/terminationGracePeriodSeconds: 30/terminationGracePeriodSeconds: 5/'
  's/clusterIP: None/type: ClusterIP/'                   # no headless Service
  's/type: RuntimeDefault/type: Unconfined/'
  's/maxUnavailable: 0/maxUnavailable: 1/'
  's/type: Recreate/type: RollingUpdate/'
  's/- ReadWriteMany/- ReadWriteOnce/'
  's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/'
  's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/'
  '/- ALL/d'                                             # keeps capabilities
  # Inference readiness or startup that does not wait for the first load,
  # liveness that does.
  '/readinessProbe:/,/service:/{/service: gridcast\.v1\.Forecaster/d}'
  '/startupProbe:/,/service:/{/service: gridcast\.v1\.Forecaster/d}'
  '/livenessProbe:/,/port:/s/^\( *\)port: 50052$/&\n\1service: gridcast.v1.ForecasterService/'
)
for mutation in "${mutations[@]}"; do
  sed "$mutation" "$work/base.yaml" > "$work/mutated.yaml"
  if cmp -s "$work/base.yaml" "$work/mutated.yaml"; then
    fail "mutation '$mutation' changed nothing (stale self-test?)"
  elif ! refused "$work/mutated.yaml"; then
    cat "$work/out"
    fail "mutation '$mutation' was not refused"
  else
    echo "refused as it should be: $mutation"
  fi
done

if ((failures > 0)); then
  echo "check-manifests: $failures failures"
  exit 1
fi
echo "check-manifests: every overlay valid, every broken case refused"
