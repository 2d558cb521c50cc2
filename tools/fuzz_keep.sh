#!/usr/bin/env bash
# Adds to the committed corpus (tests/fuzz/corpus/<kind>) the units of a target's kept corpus
# (tools/fuzz.sh) that reach code the committed units do not (libFuzzer's -merge=1): the
# MAX_UNITS smallest of them (default 64), each at most MAX_BYTES (default 4096), so that the
# committed seeds stay few and small; the rest stays in the machine's kept corpus.
#   tools/fuzz_keep.sh TARGET [MAX_UNITS] [MAX_BYTES]     e.g. tools/fuzz_keep.sh fuzz_run_model
# Needs build-fuzz (tools/fuzz.sh builds it). Prints how many units it added.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 TARGET [MAX_UNITS] [MAX_BYTES]" >&2; exit 2; }
target=$1
max_units=${2:-64}
max_bytes=${3:-4096}
source tools/build_env.sh
corpus=${OCTET_FUZZ_CORPUS:-$(octet_cache_root)/fuzz-corpus}/$target
binary=build-fuzz/tests/fuzz/$target
[ -x "$binary" ] || { echo "fuzz_keep: $binary not built (tools/fuzz.sh builds it)" >&2; exit 1; }
[ -d "$corpus" ] || { echo "fuzz_keep: no kept corpus for $target in $corpus (run tools/fuzz.sh first)" >&2; exit 1; }
case $target in
  fuzz_onnx_loader | fuzz_run_model | fuzz_lower_model | fuzz_write_read | fuzz_concurrent_runs)
    kind=onnx ;;
  fuzz_octet_loader) kind=octet ;;
  fuzz_npy) kind=npy ;;
  fuzz_encodings) kind=encodings ;;
  fuzz_quantsim_config) kind=quantsim_config ;;
  fuzz_target_profile) kind=target_profile ;;
  *) echo "fuzz_keep: unknown target $target" >&2; exit 2 ;;
esac
small=$(mktemp -d)
merged=$(mktemp -d)
trap 'rm -rf "$small" "$merged"' EXIT
find "$corpus" -type f -size -"$((max_bytes + 1))"c -exec cp {} "$small/" \;
dest=tests/fuzz/corpus/$kind
mkdir -p "$dest"
before=$(find "$dest" -type f | wc -l)
# The committed units first, so that only what they miss is merged in.
cp "$dest"/* "$merged/" 2>/dev/null || true
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$binary" -merge=1 -max_len="$max_bytes" \
  -rss_limit_mb=3072 -malloc_limit_mb=1024 "$merged" "$small" >/dev/null 2>&1
for f in "$dest"/*; do [ -e "$f" ] && rm -f "$merged/$(basename "$f")"; done
find "$merged" -type f -printf '%s %p\n' | sort -n >"$small.list"
head -n "$max_units" "$small.list" | cut -d' ' -f2- | while read -r f; do cp "$f" "$dest/"; done
rm -f "$small.list"
after=$(find "$dest" -type f | wc -l)
echo "fuzz_keep: $target: $((after - before)) units added to $dest ($after in all, $(du -sb "$dest" | cut -f1) bytes)"
