#!/usr/bin/env bash
# Proves the layering the build enforces: compiled against build/layers/<layer>/ (what the
# build gives that layer), a header of every layer below must be found and a header of every
# layer above must not be.   usage: check_layers.sh CXX BUILD_DIR
set -euo pipefail
cxx=$1
build=$2
layers=(base simd kernels engine loaders quant)
# One header per layer, chosen to need nothing outside the project but installed packages.
declare -A header=([base]=base/error.h [simd]=simd/round_half_even.h [kernels]=kernels/requant.h
                   [engine]=engine/graph.h [loaders]=loaders/npy.h [quant]=quant/encoding.h)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
for ((i = 0; i < ${#layers[@]}; ++i)); do
  layer=${layers[i]}
  for ((j = 0; j < ${#layers[@]}; ++j)); do
    other=${layers[j]}
    printf '#include "%s"\n' "${header[$other]}" >"$scratch/probe.cc"
    if "$cxx" -std=c++20 -fsyntax-only -I"$build/layers/$layer" -I"$build/generated" \
        "$scratch/probe.cc" 2>"$scratch/err"; then
      if ((j > i)); then
        echo "FAIL: $layer can include ${header[$other]} ($other is above it)"
        failed=1
      fi
    else
      if ((j <= i)); then
        echo "FAIL: $layer cannot include ${header[$other]}:"
        head -3 "$scratch/err"
        failed=1
      elif ! grep -q "No such file" "$scratch/err"; then
        echo "FAIL: $layer including ${header[$other]} failed for another reason:"
        head -3 "$scratch/err"
        failed=1
      fi
    fi
  done
done
[ "$failed" = 0 ] && echo "layers: every layer sees the ones below it and none above (${#layers[@]} layers)"
exit "$failed"
