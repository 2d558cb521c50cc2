#!/usr/bin/env bash
# Builds the octet command line (nothing else: no tests, no benchmarks) and runs the demo on the
# bundled MNIST model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
source tools/build_env.sh
octet_configure build -DCMAKE_BUILD_TYPE=Release -DOCTET_BUILD_TESTS=OFF -DOCTET_BUILD_BENCH=OFF
octet_build build octet_cli
./build/octet demo
