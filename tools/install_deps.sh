#!/usr/bin/env bash
# Installs the Debian 12 packages octet builds with, if any is missing.
set -euo pipefail
packages=(build-essential cmake pkg-config libdnnl-dev ocl-icd-opencl-dev libhwy-dev libflatbuffers-dev
          flatbuffers-compiler xtensor-dev doctest-dev libbenchmark-dev libonnx-dev
          libprotobuf-dev protobuf-compiler nlohmann-json3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
