#!/usr/bin/env bash
# How often octet's integer run equals ONNX Runtime's, element for element (issue 13's measure):
# quantizes MODEL on CALIB (extra quantize options after --), exports its QDQ model, runs that in
# ONNX Runtime 1.30 (tests/oracles/ort_run.js; CPU, optimizations on, one thread) and in
# `octet run --mode int`, on the samples of INPUTS.npy, and prints per output the share of equal
# elements, the largest difference and the argmax agreement.
#   tools/ort_agreement.sh MODEL CALIB.npy INPUTS.npy [-- QUANTIZE_OPTION ...]
# TARGET=PROFILE (name or .json path; default onnxruntime) is the profile of both the quantize and
# the octet run.
# Needs: build/octet, node with onnxruntime-node@1.30.0 under /var/cache/octet/oracles
# (cd there; ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0), python3-numpy (Debian's /usr/bin/python3, or PYTHON).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 3 ] || { echo "usage: $0 MODEL CALIB.npy INPUTS.npy [-- QUANTIZE_OPTION ...]" >&2; exit 2; }
model=$1 calib=$2 inputs=$3
shift 3
[ "${1:-}" = "--" ] && shift
octet=${OCTET:-$top/build/octet}
export NODE_PATH=${NODE_PATH:-/var/cache/octet/oracles/node_modules}
node -e "require('onnxruntime-node')" 2>/dev/null ||
  { echo "ort_agreement: onnxruntime-node not found under NODE_PATH=$NODE_PATH" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target=${TARGET:-onnxruntime}
"$octet" quantize "$model" --data "$calib" -o "$work/q.octet" --export-qdq "$work/q.qdq.onnx" --target "$target" "$@" > "$work/quantize.log"
input=$("$octet" info "$work/q.qdq.onnx" | awk '/^inputs?:/ {getline; print $1; exit}' | tr -d ':')
[ -n "$input" ] || input=input
node "$top/tests/oracles/ort_run.js" "$work/q.qdq.onnx" "$work/ort" "$input=$inputs"
"$octet" run "$work/q.qdq.onnx" --input "$inputs" --mode int --target "$target" -o "$work/octet" > /dev/null
"${PYTHON:-/usr/bin/python3}" - "$work/ort" "$work/octet" <<'PY'
import sys, os, numpy as np
ort_dir, oct_dir = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(ort_dir)):
    a, b = np.load(os.path.join(ort_dir, name)), np.load(os.path.join(oct_dir, name))
    if a.shape != b.shape:
        print(f"{name}: shapes differ, ORT {a.shape} octet {b.shape}"); continue
    line = f"{name}: {a.size} elements, {100 * np.mean(a == b):.2f}% equal, max |diff| {np.abs(a.astype(np.float64) - b).max():.4g}"
    if a.ndim == 2 and a.shape[1] > 1:
        line += f", argmax agreement {100 * np.mean(a.argmax(1) == b.argmax(1)):.2f}%"
    print(line)
PY
