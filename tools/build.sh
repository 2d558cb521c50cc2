#!/usr/bin/env bash
# Configures and builds all of octet in ./build (Release): the library, the CLI, the tests and
# bench/. Extra arguments go to cmake. Compiles through ccache (tools/build_env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh --tests
source tools/build_env.sh
octet_configure build -DCMAKE_BUILD_TYPE=Release -DOCTET_BUILD_TESTS=ON -DOCTET_BUILD_BENCH=ON "$@"
octet_build build
