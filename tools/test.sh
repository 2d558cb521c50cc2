#!/usr/bin/env bash
# Builds octet from nothing and runs the whole test suite (ctest: the unit tests, the concurrency
# tests, the install test, the layering check and a smoke run of every benchmark program).
# Installs what it needs first: the build and test packages and the test oracles
# (tools/install_deps.sh --tests --oracles).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh --tests --oracles
bash tools/build.sh
cd build
ctest --output-on-failure
