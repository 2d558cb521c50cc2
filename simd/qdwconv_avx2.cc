// Depthwise integer convolution, AVX2: 16 channels per step (see simd/qdwconv.h). A last
// partial block goes through 16-byte copies of its taps.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "simd/qdwconv.h"
#include "simd/isa_target.h"

OCTET_ISA_TARGET_BEGIN("avx2,fma")

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

namespace octet::simd {

int64_t qdw_avx2_rows_scratch(int64_t KH, int64_t OW, int64_t KW, int64_t sw, int64_t dw) {
  const int64_t wpad = (OW - 1) * sw + (KW - 1) * dw + 1;
  return (KH + 1) / 2 * wpad * 16 + 16;
}

namespace {

// Requantizes (or stores) 16 channels [c, c + n) of one pixel from the lo / hi accumulators.
inline void store16(const QDwArgs& a, int64_t b, __m256i lo, __m256i hi, int64_t n,
                    int32_t* out32, uint8_t* out8) {
  if (!a.mult) {
    alignas(32) int32_t t[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(t), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_store_si256(reinterpret_cast<__m256i*>(t + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
    for (int64_t j = 0; j < n; ++j) out32[j] = t[j];
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
  const __m256i w16 = _mm256_packs_epi32(q0, q1);
  const __m256i sh = _mm256_shuffle_epi8(
      w16, _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1, 0, 2, 4,
                            6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m128i bytes = _mm256_castsi256_si128(_mm256_permute4x64_epi64(sh, 0x08));
  if (n == 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out8), bytes);
  } else {
    alignas(16) uint8_t t[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(t), bytes);
    std::memcpy(out8, t, size_t(n));
  }
}

// Output pixels of one channel block; P pairs, KWT kernel columns (0: run time).
template <int P, int KWT>
void row_block(const QDwArgs& a, const QDwAvx2Rows& r, int64_t b, int64_t n, const int32_t* U,
               int64_t wpad, void* out) {
  const int64_t KW = KWT ? KWT : r.KW, np = P ? P : (r.KH + 1) / 2;
  const int32_t* w = r.w + b * np * KW * 16;
  const __m256i k0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.comp + b * 16));
  const __m256i k1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.comp + b * 16 + 8));
  const int64_t C = r.C;
  for (int64_t ow = 0; ow < r.OW; ++ow) {
    __m256i lo = k0, hi = k1;
    for (int64_t p = 0; p < np; ++p) {
      const int32_t* u = U + (p * wpad + ow * r.sw) * 16;
      const int32_t* wp = w + p * KW * 16;
#pragma GCC unroll 8
      for (int64_t kw = 0; kw < KW; ++kw) {
        const int32_t* uk = u + kw * r.dw * 16;
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(
                                      _mm256_load_si256(reinterpret_cast<const __m256i*>(uk)),
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + kw * 16))));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(
                                      _mm256_load_si256(reinterpret_cast<const __m256i*>(uk + 8)),
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + kw * 16 + 8))));
      }
    }
    store16(a, b, lo, hi, n, a.mult ? nullptr : static_cast<int32_t*>(out) + ow * C + b * 16,
            static_cast<uint8_t*>(out) + ow * C + b * 16);
  }
}

}  // namespace

void qdwconv_avx2_row(const QDwArgs& a, const QDwAvx2Rows& r, void* out) {
  const int64_t C = r.C, blocks = (C + 15) / 16, np = (r.KH + 1) / 2;
  const int64_t wpad = (r.OW - 1) * r.sw + (r.KW - 1) * r.dw + 1;
  int32_t* U = reinterpret_cast<int32_t*>((reinterpret_cast<uintptr_t>(r.scratch) + 31) & ~uintptr_t(31));
  const __m128i x80 = _mm_set1_epi8(a.flip ? char(0x80) : 0);
  const __m128i padv = _mm_set1_epi8(char(r.pad));
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c = b * 16, n = C - c >= 16 ? 16 : C - c;
    // U[p][col]: rows 2p and 2p + 1 of input column col - pl, widened and interleaved.
    for (int64_t p = 0; p < np; ++p) {
      const uint8_t* r0 = r.rows[2 * p];
      const uint8_t* r1 = 2 * p + 1 < r.KH ? r.rows[2 * p + 1] : nullptr;
      for (int64_t col = 0; col < wpad; ++col) {
        const int64_t iw = col - r.pl;
        const bool in = iw >= 0 && iw < r.W;
        __m128i v0 = padv, v1 = padv;
        if (n == 16) {
          if (r0 && in) v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + iw * C + c));
          if (r1 && in) v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + iw * C + c));
        } else {
          alignas(16) uint8_t t0[16], t1[16];
          std::memset(t0, r.pad, 16);
          std::memset(t1, r.pad, 16);
          if (r0 && in) std::memcpy(t0, r0 + iw * C + c, size_t(n));
          if (r1 && in) std::memcpy(t1, r1 + iw * C + c, size_t(n));
          v0 = _mm_load_si128(reinterpret_cast<const __m128i*>(t0));
          v1 = _mm_load_si128(reinterpret_cast<const __m128i*>(t1));
        }
        const __m256i x0 = _mm256_cvtepu8_epi16(_mm_xor_si128(v0, x80));
        const __m256i x1 = _mm256_cvtepu8_epi16(_mm_xor_si128(v1, x80));
        int32_t* u = U + (p * wpad + col) * 16;
        _mm256_store_si256(reinterpret_cast<__m256i*>(u), _mm256_unpacklo_epi16(x0, x1));
        _mm256_store_si256(reinterpret_cast<__m256i*>(u + 8), _mm256_unpackhi_epi16(x0, x1));
      }
    }
    if (np == 2 && r.KW == 3)
      row_block<2, 3>(a, r, b, n, U, wpad, out);
    else if (np == 3 && r.KW == 5)
      row_block<3, 5>(a, r, b, n, U, wpad, out);
    else
      row_block<0, 0>(a, r, b, n, U, wpad, out);
  }
}

}  // namespace octet::simd

OCTET_ISA_TARGET_END
