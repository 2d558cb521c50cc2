#!/usr/bin/env bash
# ThreadSanitizer: builds the concurrency tests with clang 14 and -fsanitize=thread
# (build-tsan, -DOCTET_TSAN=ON) and runs them. OpenMP comes from LLVM's libomp, whose Archer
# tool tells TSan about OpenMP's barriers and locks (libgomp is not instrumented and would
# report its own synchronization as races). Fails on any report; prints how many reports
# name octet's own sources.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh --tests --sanitizers
source tools/build_env.sh
octet_configure build-tsan "${octet_sanitizer_cmake_args[@]}" -DOCTET_TSAN=ON -DOCTET_BUILD_TESTS=OFF
octet_build build-tsan octet_concurrency_tests
archer=/usr/lib/llvm-14/lib/libarcher.so
[ -f "$archer" ] || { echo "tsan.sh: $archer is missing (libomp-14-dev)" >&2; exit 1; }
log=build-tsan/tsan.log
set +e
OMP_TOOL_LIBRARIES=$archer ARCHER_OPTIONS=verbose=1 \
  TSAN_OPTIONS="print_suppressions=1 suppressions=$(pwd)/tests/concurrency/tsan.supp halt_on_error=0 second_deadlock_stack=1 exitcode=66 external_symbolizer_path=/usr/bin/llvm-symbolizer-14" \
  ./build-tsan/tests/concurrency/octet_concurrency_tests 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
grep -q "Archer detected OpenMP application with TSan" "$log" ||
  { echo "tsan.sh: Archer did not load: OpenMP synchronization is invisible to TSan" >&2; exit 1; }
reports=$(grep -c "WARNING: ThreadSanitizer:" "$log" || true)
# A report is octet's when its top frame is in the project's sources.
ours=$(awk -v root="$(pwd)/" '/WARNING: ThreadSanitizer:/{top=1; next} top && /^ *#0 /{if (index($0, root) || index($0, "/build-tsan/../")) n++; top=0} END{print n+0}' "$log")
suppressed=$(grep -o 'ThreadSanitizer: Matched [0-9]* suppressions' "$log" | grep -o '[0-9]*' || echo 0)
echo "tsan: $reports reports, $ours in octet's own code, ${suppressed:-0} suppressed (libomp's own locks: tests/concurrency/tsan.supp; exit $rc); log: $log"
[ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]
