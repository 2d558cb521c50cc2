// AVX2 integer GEMM, exact: A's bytes are widened to int16 (u8 after the optional 0x80 flip)
// and multiplied with int16 weights by vpmaddwd (two products summed in int32, no int16
// saturation, unlike vpmaddubsw). Register tiles of up to 6 rows x 16 columns.
// Compiled for AVX2 only; kernels/qgemm.cc calls it after checking the CPU.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "simd/qgemm_kernels.h"
#include "simd/isa_target.h"

OCTET_ISA_TARGET_BEGIN("avx2,fma")

namespace octet::simd {
namespace {

constexpr int kMR = 6;

// One row of C, 8 columns [col, col + n), n <= 8.
inline void epilogue8(const QGemmTile& t, __m256i acc, int64_t row, int64_t col, int64_t n) {
  alignas(32) int32_t tmp[8];
  const bool full = n >= 8;
  __m256i comp;
  if (full) {
    comp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.comp + col));
  } else {
    for (int j = 0; j < 8; ++j) tmp[j] = j < n ? t.comp[col + j] : 0;
    comp = _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
  }
  const __m256i v = _mm256_add_epi32(acc, comp);
  if (!t.mult) {
    int32_t* out = static_cast<int32_t*>(t.c) + row * t.ldc + col;
    if (full) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
    } else {
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
      for (int j = 0; j < n; ++j) out[j] = tmp[j];
    }
    return;
  }
  __m256 m;
  if (full) {
    m = _mm256_loadu_ps(t.mult + col);
  } else {
    alignas(32) float mt[8];
    for (int j = 0; j < 8; ++j) mt[j] = j < n ? t.mult[col + j] : 0.f;
    m = _mm256_load_ps(mt);
  }
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), m);
  f = _mm256_max_ps(f, _mm256_set1_ps(t.lo));
  f = _mm256_min_ps(f, _mm256_set1_ps(t.hi));
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(t.zp));
  // Low byte of each int32 (exact: the values lie in the u8 / s8 range).
  const __m256i sh = _mm256_shuffle_epi8(
      q, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8,
                          12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m128i bytes =
      _mm_unpacklo_epi32(_mm256_castsi256_si128(sh), _mm256_extracti128_si256(sh, 1));
  uint8_t* out = static_cast<uint8_t*>(t.c) + row * t.ldc + col;
  if (full) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), bytes);
  } else {
    alignas(16) uint8_t bt[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(bt), bytes);
    for (int j = 0; j < n; ++j) out[j] = bt[j];
  }
}

// A rows [m0, m0 + MR) widened: aw[r * Kp + k] int16, zero padded to Kp. Named
// accumulators (not an array) so that the compiler keeps them in registers.
#define OCTET_ROW(r)                                                                      \
  if constexpr (MR > r) {                                                                 \
    int32_t pair;                                                                         \
    memcpy(&pair, aw + r * Kp + 2 * g, 4);                                                \
    const __m256i av = _mm256_set1_epi32(pair);                                           \
    c##r##_0 = _mm256_add_epi32(c##r##_0, _mm256_madd_epi16(av, b0));                     \
    if constexpr (NP > 1) c##r##_1 = _mm256_add_epi32(c##r##_1, _mm256_madd_epi16(av, b1)); \
  }
#define OCTET_EPI(r)                                                                  \
  if constexpr (MR > r) {                                                             \
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums[r][0]), c##r##_0);             \
    if constexpr (NP > 1) _mm256_store_si256(reinterpret_cast<__m256i*>(sums[r][1]), c##r##_1); \
  }

template <int MR, int NP>
__attribute__((noinline)) void store_rows(const QGemmTile& t, const int32_t* sums, int64_t m0,
                                          int64_t col, int64_t n0, int64_t n1) {
  if (NP == 2 && t.mult && n0 == 8 && n1 == 8) {
    // 16 full columns: parameters loaded once, both halves packed into one 16-byte store.
    const __m256i k0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.comp + col));
    const __m256i k1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.comp + col + 8));
    const __m256 u0 = _mm256_loadu_ps(t.mult + col), u1 = _mm256_loadu_ps(t.mult + col + 8);
    const __m256 lo = _mm256_set1_ps(t.lo), hi = _mm256_set1_ps(t.hi);
    const __m256i zp = _mm256_set1_epi32(t.zp);
    // Low bytes of the int16 values, then dwords 0, 4, 1, 5: columns 0-3, 4-7, 8-11, 12-15.
    const __m256i even = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1,
                                          -1, 0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1,
                                          -1, -1);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 3, 6, 7);
    for (int r = 0; r < MR; ++r) {
      const __m256i a0 = _mm256_add_epi32(
          _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + (r * NP) * 8)), k0);
      const __m256i a1 = _mm256_add_epi32(
          _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + (r * NP + 1) * 8)), k1);
      __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(a0), u0);
      __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(a1), u1);
      f0 = _mm256_min_ps(_mm256_max_ps(f0, lo), hi);
      f1 = _mm256_min_ps(_mm256_max_ps(f1, lo), hi);
      const __m256i q0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), zp);
      const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), zp);
      // Codes fit int16: packs is exact; their low bytes are the u8 / s8 codes.
      const __m256i w = _mm256_shuffle_epi8(_mm256_packs_epi32(q0, q1), even);
      const __m256i o = _mm256_permutevar8x32_epi32(w, order);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint8_t*>(t.c) + (m0 + r) * t.ldc + col),
                       _mm256_castsi256_si128(o));
    }
    return;
  }
  for (int r = 0; r < MR; ++r) {
    epilogue8(t, _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + (r * NP) * 8)),
              m0 + r, col, n0);
    if constexpr (NP > 1)
      epilogue8(t, _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + (r * NP + 1) * 8)),
                m0 + r, col + 8, n1);
  }
}

// Int4 panel row h (16 bytes: pairs 2h and 2h + 1 of 8 columns) to int16 weights.
inline void unpack4(const uint8_t* p, __m256i& lo, __m256i& hi) {
  const __m128i lut = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1);
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  lo = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(lut, _mm_and_si128(v, m)));
  hi = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(v, 4), m)));
}

template <int MR, int NP, bool I4>
void tile(const QGemmTile& t, const int16_t* aw, int64_t m0, int64_t p0) {
  static_assert(MR >= 1 && MR <= 6 && NP >= 1 && NP <= 2);
  __m256i c0_0 = _mm256_setzero_si256(), c0_1 = c0_0, c1_0 = c0_0, c1_1 = c0_0, c2_0 = c0_0,
          c2_1 = c0_0, c3_0 = c0_0, c3_1 = c0_0, c4_0 = c0_0, c4_1 = c0_0, c5_0 = c0_0,
          c5_1 = c0_0;
  const int64_t Kp = t.Kp;
  if constexpr (I4) {
    const uint8_t* b4 = static_cast<const uint8_t*>(t.b) + p0 * t.panel_bytes;
    const uint8_t* bn4 = b4 + (NP > 1 ? t.panel_bytes : 0);
    const int64_t pairs = Kp / 2;
    for (int64_t h = 0; 2 * h < pairs; ++h) {
      __m256i l0, h0, l1, h1;
      unpack4(b4 + h * 16, l0, h0);
      if constexpr (NP > 1) unpack4(bn4 + h * 16, l1, h1);
      else l1 = l0, h1 = h0;
      {
        const int64_t g = 2 * h;
        const __m256i b0 = l0, b1 = l1;
        OCTET_ROW(0) OCTET_ROW(1) OCTET_ROW(2) OCTET_ROW(3) OCTET_ROW(4) OCTET_ROW(5)
      }
      if (2 * h + 1 < pairs) {
        const int64_t g = 2 * h + 1;
        const __m256i b0 = h0, b1 = h1;
        OCTET_ROW(0) OCTET_ROW(1) OCTET_ROW(2) OCTET_ROW(3) OCTET_ROW(4) OCTET_ROW(5)
      }
    }
  } else {
    const int16_t* b = static_cast<const int16_t*>(t.b) + p0 * (t.panel_bytes / 2);
    const int16_t* bn = b + (NP > 1 ? t.panel_bytes / 2 : 0);
    for (int64_t g = 0; g < Kp / 2; ++g) {
      const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + g * 16));
      const __m256i b1 =
          NP > 1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bn + g * 16)) : b0;
      OCTET_ROW(0) OCTET_ROW(1) OCTET_ROW(2) OCTET_ROW(3) OCTET_ROW(4) OCTET_ROW(5)
    }
  }
  const int64_t col = p0 * 8;
  const int64_t r0 = t.ncols - col, r1 = r0 - 8;
  const int64_t n0 = r0 < 8 ? r0 : 8, n1 = r1 < 8 ? r1 : 8;
  // Requantized by a separate function through memory: with the epilogue inline, GCC 12
  // adds register copies to every k step.
  alignas(32) int32_t sums[MR][NP][8];
  OCTET_EPI(0) OCTET_EPI(1) OCTET_EPI(2) OCTET_EPI(3) OCTET_EPI(4) OCTET_EPI(5)
  store_rows<MR, NP>(t, &sums[0][0][0], m0, col, n0, n1);
}

using TileFn = void (*)(const QGemmTile&, const int16_t*, int64_t, int64_t);

template <int NP, bool I4>
TileFn fn(int mr) {
  switch (mr) {
    case 1: return tile<1, NP, I4>;
    case 2: return tile<2, NP, I4>;
    case 3: return tile<3, NP, I4>;
    case 4: return tile<4, NP, I4>;
    case 5: return tile<5, NP, I4>;
    default: return tile<6, NP, I4>;
  }
}

// n bytes from src (u8 after the optional flip) to int16 at dst.
inline void widen_run(const uint8_t* src, int64_t n, bool flip, int16_t* dst) {
  const __m128i x80 = _mm_set1_epi8(char(0x80));
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k));
    if (flip) v = _mm_xor_si128(v, x80);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k), _mm256_cvtepu8_epi16(v));
  }
  const uint8_t fx = flip ? 0x80 : 0;
  for (; k < n; ++k) dst[k] = int16_t(uint8_t(src[k] ^ fx));
}

void widen_rows(const QGemmTile& t, int64_t m0, int64_t rows, int16_t* aw) {
  for (int64_t r = 0; r < rows; ++r) {
    int16_t* dst = aw + r * t.Kp;
    if (t.rows) {
      // Indirect rows: runs of k-groups whose offsets follow each other.
      const uint8_t* base = t.rows[m0 + r];
      const int64_t groups = t.K / 4;
      for (int64_t g = 0; g < groups;) {
        int64_t e = g + 1;
        while (e < groups && t.koff[e] == t.koff[e - 1] + 4) ++e;
        widen_run(base + t.koff[g], 4 * (e - g), t.flip, dst + 4 * g);
        g = e;
      }
    } else {
      widen_run(t.a + (m0 + r) * t.lda, t.K, t.flip, dst);
    }
    for (int64_t k = t.K; k < t.Kp; ++k) dst[k] = 0;
  }
}

}  // namespace

void qgemm_avx2(const QGemmTile& t) {
  int16_t* aw = static_cast<int16_t*>(t.scratch);
  const int64_t npan = (t.ncols + 7) / 8;
  for (int64_t m = 0; m < t.M; m += kMR) {
    const int mr = t.M - m >= kMR ? kMR : int(t.M - m);
    widen_rows(t, m, mr, aw);
    const TileFn f2 = t.int4 ? fn<2, true>(mr) : fn<2, false>(mr);
    const TileFn f1 = t.int4 ? fn<1, true>(mr) : fn<1, false>(mr);
    int64_t p = 0;
    for (; p + 2 <= npan; p += 2) f2(t, aw, m, p);
    if (p < npan) f1(t, aw, m, p);
  }
}

}  // namespace octet::simd

OCTET_ISA_TARGET_END
