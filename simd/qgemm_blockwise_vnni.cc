// Per-block int4 GEMM (kernels::qgemm_blockwise), AVX-512 VNNI: register tiles of up to 6 rows x
// 32 columns with int32 block sums and fp32 running sums side by side. For each block: the
// vpdpbusd sums of the block (+ comp = -zp * block column sum), converted to float, times the
// block's weight scales, added to the running sums (a multiply then an add, as the definition
// in kernels/qgemm.h). Then g = f * m (+ bias), clamp, round half to even, + zp, u8/s8 out.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "simd/qgemm_kernels.h"
#include "simd/isa_target.h"

// GCC 12 warns about the _mm512_undefined_* inside its own intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
OCTET_ISA_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")

namespace octet::simd {
namespace {

inline __m512i bcast4(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
inline __mmask16 col_mask(int64_t remaining) {
  return remaining >= 16 ? __mmask16(0xFFFF) : remaining <= 0 ? __mmask16(0) : __mmask16((1u << remaining) - 1);
}

#define OB_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define OB_DECL(r) __m512 f##r##_0 = _mm512_setzero_ps(), f##r##_1 = f##r##_0;
#define OB_ZERO(r) __m512i s##r##_0 = _mm512_setzero_si512(), s##r##_1 = s##r##_0;
#define OB_STEP(r)                                                         \
  if constexpr (MR > r) {                                                  \
    __m512i av = bcast4(a + r * lda + 4 * g);                              \
    if (FLIP) av = _mm512_xor_si512(av, x80);                              \
    s##r##_0 = _mm512_dpbusd_epi32(s##r##_0, av, b0);                      \
    if constexpr (NP > 1) s##r##_1 = _mm512_dpbusd_epi32(s##r##_1, av, b1); \
  }
#define OB_ACC(r)                                                                         \
  if constexpr (MR > r) {                                                                 \
    f##r##_0 = _mm512_add_ps(f##r##_0, _mm512_mul_ps(_mm512_cvtepi32_ps(                  \
                                           _mm512_add_epi32(s##r##_0, k0)), sc0));        \
    if constexpr (NP > 1)                                                                 \
      f##r##_1 = _mm512_add_ps(f##r##_1, _mm512_mul_ps(_mm512_cvtepi32_ps(                \
                                             _mm512_add_epi32(s##r##_1, k1)), sc1));      \
  }
#define OB_OUT(r)                                         \
  if constexpr (MR > r) {                                 \
    out16(t, f##r##_0, m0 + r, col, 0, mask0);            \
    if constexpr (NP > 1) out16(t, f##r##_1, m0 + r, col + 16, 16, mask1); \
  }

inline void out16(const QGemmBlockTile& t, __m512 f, int64_t row, int64_t col, int64_t off,
                  __mmask16 mask) {
  __m512 g = _mm512_mul_ps(f, _mm512_set1_ps(t.m));
  if (t.bias) g = _mm512_add_ps(g, _mm512_maskz_loadu_ps(mask, t.bias + col));
  g = _mm512_max_ps(g, _mm512_set1_ps(t.lo));  // (g > lo) ? g : lo, a NaN gives lo
  g = _mm512_min_ps(g, _mm512_set1_ps(t.hi));  // (g < hi) ? g : hi
  const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(g), _mm512_set1_epi32(t.zp));
  _mm_mask_storeu_epi8(t.c + row * t.ldc + col, mask, _mm512_cvtepi32_epi8(q));
  (void)off;
}

template <int MR, int NP, bool FLIP, bool I4>
void tile(const QGemmBlockTile& t, int64_t m0, int64_t p0) {
  OB_ROWS(OB_DECL)
  const uint8_t* a = t.a + m0 * t.lda;
  const int64_t lda = t.lda;
  const int8_t* b = static_cast<const int8_t*>(t.b) + p0 * t.panel_bytes;
  const int8_t* bn = b + (NP > 1 ? t.panel_bytes : 0);
  const __m512i x80 = _mm512_set1_epi32(int32_t(0x80808080u));
  const __m512i lut = _mm512_broadcast_i32x4(
      _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1));
  const __m512i lo4 = _mm512_set1_epi8(0x0F);
  const int64_t col = p0 * 16, gb = t.block / 4, nb = t.K / t.block;
  for (int64_t blk = 0; blk < nb; ++blk) {
    OB_ROWS(OB_ZERO)
    if constexpr (I4) {
      for (int64_t g0 = blk * gb; g0 < (blk + 1) * gb; g0 += 2) {  // gb is even
        const __m512i v0 = _mm512_loadu_si512(b + g0 * 32);
        const __m512i v1 = NP > 1 ? _mm512_loadu_si512(bn + g0 * 32) : v0;
        {
          const int64_t g = g0;
          const __m512i b0 = _mm512_shuffle_epi8(lut, _mm512_and_si512(v0, lo4));
          const __m512i b1 = NP > 1 ? _mm512_shuffle_epi8(lut, _mm512_and_si512(v1, lo4)) : b0;
          OB_ROWS(OB_STEP)
        }
        {
          const int64_t g = g0 + 1;
          const __m512i b0 =
              _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v0, 4), lo4));
          const __m512i b1 =
              NP > 1 ? _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v1, 4), lo4))
                     : b0;
          OB_ROWS(OB_STEP)
        }
      }
    } else {
      for (int64_t g = blk * gb; g < (blk + 1) * gb; ++g) {
        const __m512i b0 = _mm512_loadu_si512(b + g * 64);
        const __m512i b1 = NP > 1 ? _mm512_loadu_si512(bn + g * 64) : b0;
        OB_ROWS(OB_STEP)
      }
    }
    const int32_t* kp = t.comp + blk * t.ldp + col;
    const float* sp = t.scale + blk * t.ldp + col;
    const __m512i k0 = _mm512_loadu_si512(kp), k1 = _mm512_loadu_si512(kp + 16);
    const __m512 sc0 = _mm512_loadu_ps(sp), sc1 = _mm512_loadu_ps(sp + 16);
    OB_ROWS(OB_ACC)
  }
  const __mmask16 mask0 = col_mask(t.ncols - col), mask1 = col_mask(t.ncols - col - 16);
  OB_ROWS(OB_OUT)
}

using TileFn = void (*)(const QGemmBlockTile&, int64_t, int64_t);

template <int NP, bool FLIP, bool I4>
TileFn fn(int mr) {
  switch (mr) {
    case 1: return tile<1, NP, FLIP, I4>;
    case 2: return tile<2, NP, FLIP, I4>;
    case 3: return tile<3, NP, FLIP, I4>;
    case 4: return tile<4, NP, FLIP, I4>;
    case 5: return tile<5, NP, FLIP, I4>;
    default: return tile<6, NP, FLIP, I4>;
  }
}
template <bool FLIP, bool I4>
TileFn pick3(int mr, int np) {
  return np == 2 ? fn<2, FLIP, I4>(mr) : fn<1, FLIP, I4>(mr);
}
TileFn pick(const QGemmBlockTile& t, int mr, int np) {
  if (t.flip) return t.int4 ? pick3<true, true>(mr, np) : pick3<true, false>(mr, np);
  return t.int4 ? pick3<false, true>(mr, np) : pick3<false, false>(mr, np);
}

}  // namespace

void qgemm_blockwise_vnni(const QGemmBlockTile& t) {
  const int64_t npan = (t.ncols + 15) / 16;
  for (int64_t p = 0; p < npan; p += 2) {
    const int np = npan - p >= 2 ? 2 : 1;
    const int64_t ntiles = (t.M + 5) / 6, base = t.M / ntiles, extra = t.M % ntiles;
    const TileFn big = pick(t, int(base + 1), np), small = pick(t, int(base), np);
    int64_t m = 0;
    for (int64_t i = 0; i < ntiles; ++i) {
      if (i < extra) {
        big(t, m, p);
        m += base + 1;
      } else {
        small(t, m, p);
        m += base;
      }
    }
  }
}

}  // namespace octet::simd

OCTET_ISA_TARGET_END
