#!/usr/bin/env bash
# Installs the Debian 12 packages octet needs, if any is missing.
#   tools/install_deps.sh            what the library, the CLI, the tests and bench/ build with
#   tools/install_deps.sh --oracles  also the test oracles (runtimes and tools the tests compare
#                                    against; the tests skip with a notice where one is absent)
set -euo pipefail
build_packages=(build-essential cmake pkg-config git ca-certificates
                libhwy-dev libflatbuffers-dev flatbuffers-compiler libonnx-dev libprotobuf-dev
                protobuf-compiler nlohmann-json3-dev xtensor-dev
                doctest-dev
                libbenchmark-dev libdnnl-dev ocl-icd-opencl-dev)
# Tests and benchmarks only: nothing the library or the CLI needs.
oracle_packages=()
packages=("${build_packages[@]}")
case "${1:-}" in
  --oracles) packages+=("${oracle_packages[@]}") ;;
  "") ;;
  *) echo "usage: $0 [--oracles]" >&2; exit 2 ;;
esac
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
