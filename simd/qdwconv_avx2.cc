// Depthwise integer convolution, AVX2: 16 channels per step (see simd/qdwconv.h). A last
// partial block goes through 16-byte copies of its taps.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "simd/qdwconv.h"

#pragma GCC target("avx2,fma")

namespace octet::simd {
namespace {

// One block of 16 channels of one pixel; tap t's codes at tap[t] (16 readable bytes each).
inline void block16(const QDwArgs& a, const uint8_t* const* tap, int64_t tap_off, int64_t b,
                    int64_t blocks, int32_t* out32, uint8_t* out8) {
  const __m128i x80 = _mm_set1_epi8(char(0x80));
  __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.comp + b * 16));
  __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.comp + b * 16 + 8));
  const int32_t* w = a.w + b * 16;
  for (int64_t p = 0; p < a.Tp / 2; ++p, w += blocks * 16) {
    __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tap[2 * p] + tap_off));
    __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tap[2 * p + 1] + tap_off));
    if (a.flip) {
      b0 = _mm_xor_si128(b0, x80);
      b1 = _mm_xor_si128(b1, x80);
    }
    const __m256i x0 = _mm256_cvtepu8_epi16(b0), x1 = _mm256_cvtepu8_epi16(b1);
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1),
                                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1),
                                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 8))));
  }
  if (out32) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out32), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out32 + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
    return;
  }
  const __m256 vlo = _mm256_set1_ps(a.lo), vhi = _mm256_set1_ps(a.hi);
  const __m256i zp = _mm256_set1_epi32(a.zp);
  __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(lo), _mm256_loadu_ps(a.mult + b * 16));
  __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(hi), _mm256_loadu_ps(a.mult + b * 16 + 8));
  f0 = _mm256_min_ps(_mm256_max_ps(f0, vlo), vhi);
  f1 = _mm256_min_ps(_mm256_max_ps(f1, vlo), vhi);
  const __m256i q0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), zp);
  const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), zp);
  const __m256i w16 = _mm256_packs_epi32(q0, q1);  // channels in order within each lane
  const __m256i sh = _mm256_shuffle_epi8(
      w16, _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1, 0, 2, 4,
                            6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m256i pk = _mm256_permute4x64_epi64(sh, 0x08);  // qwords 0 and 2
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out8), _mm256_castsi256_si128(pk));
}

}  // namespace

void qdwconv_avx2(const QDwArgs& a, const uint8_t* const* taps, int64_t npix, void* out) {
  const int64_t C = a.C, blocks = (C + 15) / 16, full = C / 16, rem = C % 16;
  const uint8_t* tail_taps[64];
  alignas(32) uint8_t tail_bytes[64][16];
  alignas(32) int32_t tail_out32[16];
  alignas(16) uint8_t tail_out8[16];
  for (int64_t pix = 0; pix < npix; ++pix) {
    const uint8_t* const* tp = taps + pix * a.Tp;
    for (int64_t b = 0; b < full; ++b)
      block16(a, tp, b * 16, b, blocks,
              a.mult ? nullptr : static_cast<int32_t*>(out) + pix * C + b * 16,
              static_cast<uint8_t*>(out) + pix * C + b * 16);
    if (!rem) continue;
    // Partial block: 16-byte copies of the taps' last rem codes (Tp <= 64, see the header).
    const int64_t c = full * 16;
    for (int64_t t = 0; t < a.Tp; ++t) {
      std::memset(tail_bytes[t], 0, 16);
      std::memcpy(tail_bytes[t], tp[t] + c, size_t(rem));
      tail_taps[t] = tail_bytes[t];
    }
    block16(a, tail_taps, 0, full, blocks, a.mult ? nullptr : tail_out32, tail_out8);
    if (a.mult)
      std::memcpy(static_cast<uint8_t*>(out) + pix * C + c, tail_out8, size_t(rem));
    else
      std::memcpy(static_cast<int32_t*>(out) + pix * C + c, tail_out32, size_t(rem) * 4);
  }
}

}  // namespace octet::simd
