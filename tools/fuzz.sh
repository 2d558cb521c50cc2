#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan + UBSan) and fuzzes each for SECONDS (default 30).
#   tools/fuzz.sh [SECONDS] [TARGET...]       e.g. tools/fuzz.sh 600 fuzz_npy fuzz_run_model
# Seeds: tests/fuzz/corpus/<kind> (committed: small hand-made files and every input that ever
# crashed), the project's own data files of that kind, and ONNX's conformance models from
# ../shared/onnx-node-tests when present. New coverage goes to the kept corpus (below);
# a crash leaves build-fuzz/fuzz/<target>/crash-* and makes the script fail. Copy a crash into
# tests/fuzz/corpus/<kind>/ once it is fixed, so it stays a regression test.
# The grown corpus of each target is kept outside the build tree, beside the compiler cache
# ($(octet_cache_root)/fuzz-corpus/<target>, OCTET_FUZZ_CORPUS=DIR for another folder): every
# run, CI's in a new clone included, starts from what the earlier runs on the machine found.
# Units worth keeping for every machine go to tests/fuzz/corpus/<kind> (tools/fuzz_keep.sh).
# Per target it prints the executions, the corpus size and the crashes.
# Environment: OCTET_FUZZ_JOBS (build parallelism, default nproc), OCTET_FUZZ_SKIP_BUILD=1,
# OCTET_FUZZ_RUNS=N (stop each target after N executions; SECONDS stays the cap), e.g. the
# campaign: OCTET_FUZZ_RUNS=10000000 tools/fuzz.sh 36000; OCTET_FUZZ_TIMEOUT=S (seconds one input
# may take, default 30; raise it when the fuzzers share the machine with builds);
# OCTET_FUZZ_PARALLEL=N (targets fuzzed side by side, default nproc: each is single-threaded).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
all_targets=(fuzz_onnx_loader fuzz_octet_loader fuzz_npy fuzz_encodings fuzz_quantsim_config
             fuzz_target_profile fuzz_run_model fuzz_lower_model fuzz_write_read
             fuzz_concurrent_runs)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
build=build-fuzz
source tools/build_env.sh
if [ "${OCTET_FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  bash tools/install_deps.sh --tests --sanitizers
  octet_configure "$build" "${octet_sanitizer_cmake_args[@]}" -DOCTET_FUZZ=ON
  OCTET_BUILD_JOBS=${OCTET_FUZZ_JOBS:-$(nproc)} octet_build "$build" octet_fuzzers octet_fuzz_seeds octet_cli
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/bin/llvm-symbolizer-14}

work=$build/fuzz
corpora=${OCTET_FUZZ_CORPUS:-$(octet_cache_root)/fuzz-corpus}
generated=$work/generated-seeds-$$  # one per run: two runs may fuzz different targets at once
trap 'rm -rf "$generated"' EXIT
mkdir -p "$generated/onnx" "$generated/octet" "$generated/npy" "$generated/encodings" \
  "$generated/quantsim_config" "$generated/target_profile"
"$build/tests/fuzz/octet_fuzz_seeds" "$generated" >/dev/null
for f in tests/data/opzoo.onnx tests/data/mnist_mobilenet_external.onnx; do cp "$f" "$generated/onnx/"; done
if [ -d ../shared/onnx-node-tests ]; then
  for m in ../shared/onnx-node-tests/*/model.onnx; do
    cp "$m" "$generated/onnx/$(basename "$(dirname "$m")").onnx"
  done
fi
"$build/octet" convert tests/data/opzoo.onnx -o "$generated/octet/opzoo.octet" >/dev/null
cp tests/data/opzoo*.npy tests/data/mnist_test_labels.npy tests/data/npz/*.npz "$generated/npy/"
cp tests/data/aimet/encodings/* "$generated/encodings/" 2>/dev/null || true
cp quant/configs/*.json "$generated/quantsim_config/"
cp tests/data/aimet/configs/* "$generated/quantsim_config/" 2>/dev/null || true
cp quant/profiles/*.json "$generated/target_profile/"

kind_of() {
  case $1 in
    fuzz_onnx_loader | fuzz_run_model | fuzz_lower_model | fuzz_write_read | fuzz_concurrent_runs)
      echo onnx ;;
    fuzz_octet_loader) echo octet ;;
    fuzz_npy) echo npy ;;
    fuzz_encodings) echo encodings ;;
    fuzz_quantsim_config) echo quantsim_config ;;
    fuzz_target_profile) echo target_profile ;;
    *) echo "fuzz.sh: unknown target $1 (targets: ${all_targets[*]})" >&2; exit 2 ;;
  esac
}
max_len_of() {
  case $1 in
    fuzz_run_model | fuzz_lower_model | fuzz_write_read | fuzz_concurrent_runs) echo 16384 ;;
    fuzz_onnx_loader | fuzz_octet_loader) echo 262144 ;;
    fuzz_npy) echo 65536 ;;  # the committed 26 KB header reproducer
    *) echo 16384 ;;  # JSON: larger inputs add little coverage and slow every execution
  esac
}

# One target: its log, corpus and artifacts in $work/TARGET; its summary line and exit status in
# $work/TARGET/result (the targets run side by side, one per core: OCTET_FUZZ_PARALLEL).
fuzz_one() {
  local t=$1 kind dir rc execs units crashes
  kind=$(kind_of "$t")
  dir=$work/$t
  mkdir -p "$dir" "$corpora/$t" tests/fuzz/corpus/"$kind"
  rm -f "$dir/result"
  local dict=()
  case $kind in encodings | quantsim_config | target_profile) dict=(-dict=tests/fuzz/json.dict) ;; esac
  # A kept corpus past 2,000 units is minimized first (libFuzzer's merge keeps the units that
  # add coverage), so that loading it stays a small part of a short run.
  if [ "$(find "$corpora/$t" -type f | wc -l)" -gt 2000 ]; then
    rm -rf "$corpora/$t.min" && mkdir -p "$corpora/$t.min"
    "$build/tests/fuzz/$t" -merge=1 -max_len="$(max_len_of "$t")" -timeout="${OCTET_FUZZ_TIMEOUT:-30}" \
      -rss_limit_mb=3072 -malloc_limit_mb=1024 "$corpora/$t.min" "$corpora/$t" >"$dir/merge.txt" 2>&1 &&
      rm -rf "$corpora/$t" && mv "$corpora/$t.min" "$corpora/$t"
  fi
  set +e
  "$build/tests/fuzz/$t" "$corpora/$t" tests/fuzz/corpus/"$kind" "$generated/$kind" \
    "${dict[@]}" ${OCTET_FUZZ_RUNS:+-runs="$OCTET_FUZZ_RUNS"} -max_total_time="$seconds" -max_len="$(max_len_of "$t")" -timeout="${OCTET_FUZZ_TIMEOUT:-30}" \
    -rss_limit_mb=3072 -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$dir/" \
    >"$dir/log.txt" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log.txt" | grep -o '[0-9]*$' || echo "?")
  units=$(find "$corpora/$t" -type f | wc -l)
  crashes=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
  printf '%s\n%-22s %12s execs  %6s corpus units  %3s artifacts  exit %s\n' "$rc" "$t" "$execs" "$units" "$crashes" "$rc" >"$dir/result"
}

parallel=${OCTET_FUZZ_PARALLEL:-$(nproc)}
if ! [[ "$parallel" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: OCTET_FUZZ_PARALLEL must be a positive number, got '$parallel'" >&2
  exit 2
fi
echo "=== fuzz: ${#targets[@]} targets for ${seconds} s each, $parallel at a time"
for t in "${targets[@]}"; do
  kind_of "$t" >/dev/null
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  echo "=== fuzz: $t"
  fuzz_one "$t" &
done
wait

failed=0
summary=()
for t in "${targets[@]}"; do
  dir=$work/$t
  if [ ! -f "$dir/result" ]; then
    failed=1
    summary+=("$t: no result (the run did not finish)")
    continue
  fi
  rc=$(head -n 1 "$dir/result")
  summary+=("$(tail -n 1 "$dir/result")")
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "fuzz: $t failed (exit $rc); the end of $dir/log.txt:"
    tail -n 60 "$dir/log.txt"
  fi
done
echo "=== fuzz: summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
