#!/usr/bin/env bash
# One clang 14 build with AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer coverage
# (build-fuzz, -DOCTET_FUZZ=ON): runs the test suite and the concurrency tests, then every
# fuzz target for a short time (SECONDS, default 30: tools/fuzz.sh) so a parser regression
# fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
bash tools/install_deps.sh --sanitizers
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DOCTET_FUZZ=ON -DOCTET_BUILD_BENCH=OFF ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER}
cmake --build build-fuzz --parallel "$(nproc)" \
  --target octet_tests octet_concurrency_tests octet_cli octet_fuzzers octet_fuzz_seeds
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
./build-fuzz/tests/octet_tests
./build-fuzz/tests/concurrency/octet_concurrency_tests
OCTET_FUZZ_SKIP_BUILD=1 bash tools/fuzz.sh "$seconds"
