#!/usr/bin/env bash
# Builds octet and runs the demo on the bundled MNIST model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
./build/octet demo
