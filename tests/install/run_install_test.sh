#!/usr/bin/env bash
# Installs octet from BUILD_DIR into a temporary prefix, then
#  1. configures, builds and runs the outside project next to this script against it
#     (find_package(octet)) with oneDNN and OpenCL made unfindable: an embedding program needs
#     neither;
#  2. moves the installed prefix elsewhere and, with the source and build trees hidden (a private
#     mount namespace), runs the installed `octet quantize --target onnxruntime` with the default
#     quantsim config: the shipped profiles and configs must come from the installed share/octet.
# Usage: tests/install/run_install_test.sh BUILD_DIR MODEL CALIB_NPY
set -euo pipefail
if [ $# -ne 3 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR MODEL CALIB_NPY" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
src_dir=$(cd "$(dirname "$0")" && pwd)
source_tree=$(cd "$src_dir/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/octet_install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$2" "$tmp/model.onnx"
cp "$3" "$tmp/calib.npy"

echo "== cmake --install $build_dir --prefix $tmp/prefix"
cmake --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
if grep -rqiE 'dnnl|opencl|xtensor' "$tmp/prefix/lib/cmake/octet"; then
  echo "install test: the installed package config names oneDNN, OpenCL or xtensor:" >&2
  grep -rniE 'dnnl|opencl|xtensor' "$tmp/prefix/lib/cmake/octet" >&2
  exit 1
fi

echo "== configure the outside project (oneDNN and OpenCL unfindable)"
cmake -S "$src_dir" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_DISABLE_FIND_PACKAGE_dnnl=ON -DCMAKE_DISABLE_FIND_PACKAGE_OpenCL=ON \
  >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
echo "== build"
cmake --build "$tmp/build" --parallel 2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
echo "== run"
"$tmp/build/octet_install_check" "$tmp/model.onnx"

echo "== the installed octet, moved, with the source and build trees out of reach"
mv "$tmp/prefix" "$tmp/moved"
version=$("$tmp/moved/bin/octet" --version)
echo "$version"
for kind in "quantsim configs" "target profiles"; do
  sub=configs
  [ "$kind" = "target profiles" ] && sub=profiles
  if ! grep -qxF "$kind: $tmp/moved/share/octet/$sub" <<<"$version"; then
    echo "install test: the moved octet does not take its $kind from its own share/octet" >&2
    exit 1
  fi
done
quantize=("$tmp/moved/bin/octet" quantize "$tmp/model.onnx" --data "$tmp/calib.npy"
          --target onnxruntime --config default_config -o "$tmp/model.int.octet")
if unshare --mount true 2>/dev/null; then
  hide=$(printf 'mount -t tmpfs none %q && ' "$build_dir" "$source_tree")
  unshare --mount bash -c "${hide}test ! -e $(printf %q "$source_tree/CMakeLists.txt") && $(printf '%q ' "${quantize[@]}")"
else
  echo "install test: notice: no private mount namespace here (needs root); the source tree stays visible"
  "${quantize[@]}"
fi
"$tmp/moved/bin/octet" eval "$tmp/model.int.octet" --mode int --data "$tmp/calib.npy" >/dev/null
echo "install test: ok"
