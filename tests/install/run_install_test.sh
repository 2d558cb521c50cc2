#!/usr/bin/env bash
# Installs octet from BUILD_DIR into a temporary prefix, then configures, builds and runs
# the outside project next to this script against it (find_package(octet)).
# Usage: tests/install/run_install_test.sh BUILD_DIR [MODEL]
set -euo pipefail
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR [MODEL]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
src_dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/octet_install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "== cmake --install $build_dir --prefix $tmp/prefix"
cmake --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
echo "== configure the outside project"
cmake -S "$src_dir" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release \
  >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
echo "== build"
cmake --build "$tmp/build" --parallel 2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
echo "== run"
"$tmp/build/octet_install_check" "${@:2}"
