#!/usr/bin/env bash
# Runs a doctest program's test cases in several processes at once, one case per process
# (doctest's --first/--last over its fixed order, so together the processes run exactly the cases
# one run of the program would), OCTET_TEST_JOBS processes at a time, each with a TMPDIR of its
# own (tests that write fixed file names cannot collide). The slowest cases of the last run start
# first (their times are kept in OCTET_TEST_TIMES, default PROGRAM.times), so no long case is left
# to run alone at the end.
# Prints the output of every process that failed and the totals; fails when any process did.
#   tools/parallel_tests.sh PROGRAM [DOCTEST_ARG...]
# OpenMP threads wait passively (OMP_WAIT_POLICY=passive unless set): with more threads than cores,
# spinning waiters take the cores from the other processes (the release suite: 113 s spinning,
# 74 s passive, 106 s in one process, on 2 cores).
# Environment: OCTET_TEST_JOBS (default nproc); OCTET_TEST_TIMES_SEED: a committed times file that
# orders the cases when OCTET_TEST_TIMES has none yet (a new machine, a cleared cache).
set -euo pipefail
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 PROGRAM [DOCTEST_ARG...]  (PROGRAM: a doctest test program)" >&2
  exit 2
fi
program=$1
shift
doctest_args=("$@")
jobs=${OCTET_TEST_JOBS:-$(nproc)}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
  echo "parallel_tests: OCTET_TEST_JOBS must be a positive number, got '$jobs'" >&2
  exit 2
fi
times_file=${OCTET_TEST_TIMES:-$program.times}
mkdir -p "$(dirname "$times_file")"
order_file=$times_file
if [ ! -f "$times_file" ] && [ -n "${OCTET_TEST_TIMES_SEED:-}" ] && [ -f "$OCTET_TEST_TIMES_SEED" ]; then
  order_file=$OCTET_TEST_TIMES_SEED
fi

listing=$("$program" --list-test-cases "${doctest_args[@]}")
count=$(sed -n 's/.*unskipped test cases passing the current filters: *\([0-9][0-9]*\).*/\1/p' <<<"$listing")
# The names: between the two rules of '=' characters after "listing all test case names".
mapfile -t names < <(awk '/listing all test case names/ {part = 1; next}
                          /^=+$/ && part {part++; next}
                          part == 2' <<<"$listing")
if [ -z "$count" ] || [ "$count" -ne "${#names[@]}" ]; then
  echo "parallel_tests: $program --list-test-cases gave ${#names[@]} names for '${count:-?}' cases" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/octet-parallel-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Case INDEX (1-based) in one process: its output, exit status and seconds in $work/INDEX/.
run_case() {
  local dir=$work/$1 begin=$EPOCHREALTIME
  mkdir -p "$dir/tmp"
  set +e
  TMPDIR=$dir/tmp "$program" --first="$1" --last="$1" "${doctest_args[@]}" >"$dir/log" 2>&1
  echo $? >"$dir/status"
  awk -v a="$begin" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f\n", b - a}' >"$dir/seconds"
}

# Slowest first by the last run's times; a case without one (new) counts as slow.
order=$(for i in "${!names[@]}"; do printf '%s\t%s\n' "$((i + 1))" "${names[$i]}"; done |
  awk -F'\t' -v times="$order_file" '
    BEGIN { while ((getline line < times) > 0) { split(line, f, "\t"); t[f[2]] = f[1] } }
    { print (($2 in t) ? t[$2] : 1e9) "\t" $1 }' |
  sort -t$'\t' -k1,1 -g -r | cut -f2)

start=$SECONDS
echo "parallel_tests: $count test cases of $(basename "$program"), one per process, $jobs at a time" \
     "($([ -f "$order_file" ] && echo "slowest first by $order_file" || echo "in file order: no times yet"))"
for index in $order; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_case "$index" &
done
wait

failed=0 assertions=0 failed_assertions=0 bad_processes=0
: >"$work/times"
for ((index = 1; index <= count; index++)); do
  dir=$work/$index
  status=$(cat "$dir/status" 2>/dev/null || echo "none")
  # "[doctest] test cases: ALL | ... | F failed | ..." (ALL counts every case, run or not) and
  # "[doctest] assertions: A | ... | AF failed |" (this process's own).
  summary=$(grep -E '^\[doctest\] test cases:' "$dir/log" 2>/dev/null | tail -n 1 || true)
  asserts=$(grep -E '^\[doctest\] assertions:' "$dir/log" 2>/dev/null | tail -n 1 || true)
  if [ "$status" != 0 ] || [ -z "$summary" ] || [ -z "$asserts" ]; then
    bad_processes=$((bad_processes + 1))
    echo "=== parallel_tests: case $index (${names[$((index - 1))]}): exit $status; its output:"
    cat "$dir/log" 2>/dev/null || true
  fi
  read -r _ _ f _ < <(sed -E 's/[^0-9]+/ /g' <<<"$summary" | awk '{print $1+0, $2+0, $3+0, $4+0}')
  read -r a _ af < <(sed -E 's/[^0-9]+/ /g' <<<"$asserts" | awk '{print $1+0, $2+0, $3+0}')
  failed=$((failed + f)) assertions=$((assertions + a)) failed_assertions=$((failed_assertions + af))
  printf '%s\t%s\n' "$(cat "$dir/seconds" 2>/dev/null || echo 0)" "${names[$((index - 1))]}" >>"$work/times"
done
sort -t$'\t' -k1,1 -g -r "$work/times" >"$times_file"
echo "parallel_tests: slowest cases (s):"
head -n 5 "$times_file" | sed 's/^/  /'
echo "parallel_tests: $count test cases, $failed failed; $assertions assertions, $failed_assertions" \
     "failed; $bad_processes processes failed; $((SECONDS - start)) s"
[ "$bad_processes" -eq 0 ] && [ "$failed" -eq 0 ]
