#include <immintrin.h>

#include <cstdint>

#include "simd/isa_target.h"
#include "simd/lookup.h"

OCTET_ISA_TARGET_BEGIN("avx512f,avx512bw,avx512vbmi")

namespace octet::simd {

void lookup_bytes_vbmi(const uint8_t* table, const uint8_t* x, uint8_t* y, int64_t n) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  auto look = [&](__m512i v) {
    const __m512i lo = _mm512_permutex2var_epi8(t0, v, t1);  // entries 0..127 (bits 0-6)
    const __m512i hi = _mm512_permutex2var_epi8(t2, v, t3);  // entries 128..255
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi);
  };
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(y + i, look(_mm512_loadu_si512(x + i)));
  if (i < n) {
    const __mmask64 m = (uint64_t(1) << (n - i)) - 1;  // n - i < 64
    _mm512_mask_storeu_epi8(y + i, m, look(_mm512_maskz_loadu_epi8(m, x + i)));
  }
}

}  // namespace octet::simd

OCTET_ISA_TARGET_END
