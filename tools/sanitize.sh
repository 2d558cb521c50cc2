#!/usr/bin/env bash
# One clang 14 build with AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer coverage
# (build-fuzz, -DOCTET_FUZZ=ON): runs the test suite (its cases spread over the cores:
# tools/parallel_tests.sh) and the concurrency tests, then every fuzz target for a short time
# (SECONDS, default 30, one target per core: tools/fuzz.sh) so a parser regression fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
bash tools/install_deps.sh --tests --sanitizers
source tools/build_env.sh
octet_configure build-fuzz "${octet_sanitizer_cmake_args[@]}" -DOCTET_FUZZ=ON -DOCTET_BUILD_TESTS=ON
octet_build build-fuzz octet_tests octet_concurrency_tests octet_cli octet_fuzzers octet_fuzz_seeds
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
# The case times live beside the compiler cache: CI builds in a new clone each time.
# On a machine without them, the committed times of an earlier run order the cases (a long case
# left to the end runs alone: minutes on 2 cores).
OCTET_TEST_TIMES=$(octet_cache_root)/test-times/asan-octet_tests.times \
  OCTET_TEST_TIMES_SEED=tests/times/asan-octet_tests.times \
  bash tools/parallel_tests.sh ./build-fuzz/tests/octet_tests
./build-fuzz/tests/concurrency/octet_concurrency_tests
OCTET_FUZZ_SKIP_BUILD=1 bash tools/fuzz.sh "$seconds"
