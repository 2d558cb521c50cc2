#!/usr/bin/env bash
# Builds octet from nothing and runs the whole test suite. Installs what it needs first: the
# build packages and the test oracles (tools/install_deps.sh --oracles).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh --oracles
bash tools/build.sh
cd build
ctest --output-on-failure
