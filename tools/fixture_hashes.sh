#!/usr/bin/env bash
# Hashes of what a refactor must not change: for each MNIST fixture and target profile, the
# integer model `octet quantize` writes, its calibrated float model, and its `int` and `exact`
# outputs on the 200 calibration images; plus the same for opzoo. Run it with the binary before
# and after a change and diff the two lists.
#   tools/fixture_hashes.sh OCTET_BINARY OUT_DIR > hashes.txt
set -euo pipefail
octet=$(realpath "$1")
out=$(realpath -m "$2")
cd "$(dirname "$0")/.."
mkdir -p "$out"
d=tests/data
for m in mnist_mobilenet mnist_resnet mnist_cle; do
  for t in onnxruntime xnnpack tflite; do
    q=$out/$m.$t.octet
    "$octet" quantize $d/$m.onnx --data $d/mnist_calib_images.npy -o "$q" --target $t \
      --model-batch 200 --calibrated-out "$out/$m.$t.calib.octet" >/dev/null
    for mode in int exact; do
      "$octet" run "$q" --input $d/mnist_calib_images.npy --mode $mode -o "$out/$m.$t.$mode" >/dev/null
    done
  done
done
"$octet" quantize $d/opzoo.onnx --data $d/opzoo_input.npy -o "$out/opzoo.octet" \
  --calibrated-out "$out/opzoo.calib.octet" >/dev/null
for mode in int exact; do
  "$octet" run "$out/opzoo.octet" --input $d/opzoo_input.npy --mode $mode -o "$out/opzoo.$mode" >/dev/null
done
cd "$out"
find . -type f | sort | xargs sha256sum
