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
  python3 python3-grpcio python3-protobuf
  openssl
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
echo "install-deps: all dependencies present"
