#!/usr/bin/env bash
# Installs the Debian 12 packages octet needs, if any is missing.
#   tools/install_deps.sh            what the library and the CLI build with (and the build
#                                    tools: Ninja, ccache)
#   tools/install_deps.sh --tests    also what the tests and bench/ build with
#   tools/install_deps.sh --oracles  also the test oracles (runtimes and tools the tests compare
#                                    against; the tests skip with a notice where one is absent):
#                                    Chromium, and ONNX Runtime 1.30 (npm's onnxruntime-node, CPU,
#                                    under $(octet_cache_root)/oracles; Node.js from Debian unless
#                                    the machine has one)
#   tools/install_deps.sh --sanitizers  also clang 14, its sanitizer and libFuzzer runtimes, LLVM's
#                                    OpenMP runtime (with Archer, for ThreadSanitizer) and
#                                    llvm-symbolizer (tools/sanitize.sh, tools/fuzz.sh, tools/tsan.sh)
set -euo pipefail
build_packages=(build-essential cmake ninja-build ccache pkg-config git ca-certificates
                libhwy-dev libflatbuffers-dev flatbuffers-compiler libonnx-dev libprotobuf-dev
                protobuf-compiler nlohmann-json3-dev zlib1g-dev)
test_packages=(doctest-dev xtensor-dev libbenchmark-dev libdnnl-dev ocl-icd-opencl-dev)
# Tests and benchmarks only: nothing the library or the CLI needs.
oracle_packages=(chromium)  # the analysis report's browser test (headless)
sanitizer_packages=(clang-14 libclang-rt-14-dev libomp-14-dev llvm-14)
packages=("${build_packages[@]}")
oracles=0
for arg in "$@"; do
  case "$arg" in
    --tests) packages+=("${test_packages[@]}") ;;
    --oracles)
      oracles=1
      packages+=("${oracle_packages[@]}")
      command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm) ;;
    --sanitizers) packages+=("${sanitizer_packages[@]}") ;;
    *) echo "usage: $0 [--tests] [--oracles] [--sanitizers]" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all packages present"
else
  echo "install_deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "$oracles" = 1 ]; then
  # ONNX Runtime for the profile tests (tests/oracles/ort_run.js); its install script would
  # fetch GPU files: the CPU build is in the package itself.
  source "$(dirname "$0")/build_env.sh"
  ort_dir=$(octet_cache_root)/oracles
  if ! NODE_PATH=$ort_dir/node_modules node -e "require('onnxruntime-node')" 2>/dev/null; then
    echo "install_deps: installing onnxruntime-node@1.30.0 in $ort_dir"
    mkdir -p "$ort_dir"
    (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent --save-exact onnxruntime-node@1.30.0)
  fi
fi
