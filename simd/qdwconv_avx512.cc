// Depthwise integer convolution, AVX-512BW: 32 channels per step (see simd/qdwconv.h).
#include <immintrin.h>

#include <cstdint>

#include "simd/qdwconv.h"
#include "simd/isa_target.h"

// GCC 12 warns about the _mm512_undefined_* inside its own intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
OCTET_ISA_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl")

namespace octet::simd {

void qdwconv_avx512(const QDwArgs& a, const uint8_t* const* taps, int64_t npix, void* out) {
  const int64_t C = a.C, blocks = (C + 31) / 32, npairs = a.Tp / 2;
  const __m256i x80 = _mm256_set1_epi8(char(0x80));
  const __m512i idx0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i idx1 =
      _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  for (int64_t pix = 0; pix < npix; ++pix) {
    const uint8_t* const* tp = taps + pix * a.Tp;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t c = b * 32, n = C - c >= 32 ? 32 : C - c;
      const __mmask32 m = n >= 32 ? ~__mmask32(0) : ((__mmask32(1) << n) - 1);
      __m512i lo = _mm512_loadu_si512(a.comp + b * 32);
      __m512i hi = _mm512_loadu_si512(a.comp + b * 32 + 16);
      const int32_t* w = a.w + b * 32;
      for (int64_t p = 0; p < npairs; ++p, w += blocks * 32) {
        __m256i b0 = _mm256_maskz_loadu_epi8(m, tp[2 * p] + c);
        __m256i b1 = _mm256_maskz_loadu_epi8(m, tp[2 * p + 1] + c);
        if (a.flip) {
          b0 = _mm256_xor_si256(b0, x80);
          b1 = _mm256_xor_si256(b1, x80);
        }
        const __m512i x0 = _mm512_cvtepu8_epi16(b0), x1 = _mm512_cvtepu8_epi16(b1);
        lo = _mm512_add_epi32(lo, _mm512_madd_epi16(_mm512_unpacklo_epi16(x0, x1),
                                                    _mm512_loadu_si512(w)));
        hi = _mm512_add_epi32(hi, _mm512_madd_epi16(_mm512_unpackhi_epi16(x0, x1),
                                                    _mm512_loadu_si512(w + 16)));
      }
      if (!a.mult) {
        int32_t* o = static_cast<int32_t*>(out) + pix * C + c;
        const __mmask16 m0 = __mmask16(m), m1 = __mmask16(m >> 16);
        _mm512_mask_storeu_epi32(o, m0, _mm512_permutex2var_epi32(lo, idx0, hi));
        _mm512_mask_storeu_epi32(o + 16, m1, _mm512_permutex2var_epi32(lo, idx1, hi));
        continue;
      }
      const __m512 vlo = _mm512_set1_ps(a.lo), vhi = _mm512_set1_ps(a.hi);
      const __m512i zp = _mm512_set1_epi32(a.zp);
      __m512 f0 = _mm512_mul_ps(_mm512_cvtepi32_ps(lo), _mm512_loadu_ps(a.mult + b * 32));
      __m512 f1 = _mm512_mul_ps(_mm512_cvtepi32_ps(hi), _mm512_loadu_ps(a.mult + b * 32 + 16));
      f0 = _mm512_min_ps(_mm512_max_ps(f0, vlo), vhi);
      f1 = _mm512_min_ps(_mm512_max_ps(f1, vlo), vhi);
      const __m512i q0 = _mm512_add_epi32(_mm512_cvtps_epi32(f0), zp);
      const __m512i q1 = _mm512_add_epi32(_mm512_cvtps_epi32(f1), zp);
      // packs restores channel order within each 128-bit lane; values fit int16 and bytes.
      const __m256i bytes = _mm512_cvtepi16_epi8(_mm512_packs_epi32(q0, q1));
      _mm256_mask_storeu_epi8(static_cast<uint8_t*>(out) + pix * C + c, m, bytes);
    }
  }
}

}  // namespace octet::simd

OCTET_ISA_TARGET_END
