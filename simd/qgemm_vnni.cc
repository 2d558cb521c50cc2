// AVX-512 VNNI integer GEMM: register tiles of up to 12 rows x 32 columns, vpdpbusd on 4 bytes
// of A (broadcast) against 16 columns x 4 k of packed B. Compiled for AVX-512 VNNI only;
// kernels/qgemm.cc calls it after checking the CPU.
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

#include "simd/qgemm_epilogue_avx512-inl.h"

inline __m512i bcast4(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
// Requantizes one row's 16 columns with the tile's hoisted parameters (same arithmetic as
// epilogue16; the column sums' term `comp` is already in the accumulator).
struct Epi {
  __m512 mult, lo, hi;
  __m512i zp, comp;
};
__attribute__((always_inline)) inline void store16(const QGemmTile& t, const Epi& e,
                                                   __m512i acc, int64_t row, int64_t col,
                                                   __mmask16 mask) {
  acc = _mm512_add_epi32(acc, e.comp);
  if (!t.mult) {
    _mm512_mask_storeu_epi32(static_cast<int32_t*>(t.c) + row * t.ldc + col, mask, acc);
    return;
  }
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), e.mult);
  f = _mm512_min_ps(_mm512_max_ps(f, e.lo), e.hi);
  const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), e.zp);
  _mm_mask_storeu_epi8(static_cast<uint8_t*>(t.c) + row * t.ldc + col, mask,
                       _mm512_cvtepi32_epi8(q));
}

// 32 full columns of MR rows with AVX-512 VBMI: both halves' low bytes gathered by one
// vpermt2b into one 32-byte store (instead of two vpmovdb).
template <int MR>
__attribute__((noinline, target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx512vbmi")))
void store_rows_vbmi(const QGemmTile& t, const int32_t* sums, int64_t m0, int64_t col) {
  const __m512i k0 = _mm512_loadu_si512(t.comp + col), k1 = _mm512_loadu_si512(t.comp + col + 16);
  const __m512 u0 = _mm512_loadu_ps(t.mult + col), u1 = _mm512_loadu_ps(t.mult + col + 16);
  const __m512 lo = _mm512_set1_ps(t.lo), hi = _mm512_set1_ps(t.hi);
  const __m512i zp = _mm512_set1_epi32(t.zp);
  alignas(64) uint8_t idx[64];
  for (int i = 0; i < 64; ++i) idx[i] = uint8_t(i < 16 ? 4 * i : i < 32 ? 64 + 4 * (i - 16) : 0);
  const __m512i sel = _mm512_load_si512(idx);
  for (int r = 0; r < MR; ++r) {
    __m512 f0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_load_si512(sums + r * 32), k0)), u0);
    __m512 f1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_load_si512(sums + r * 32 + 16), k1)), u1);
    f0 = _mm512_min_ps(_mm512_max_ps(f0, lo), hi);
    f1 = _mm512_min_ps(_mm512_max_ps(f1, lo), hi);
    const __m512i q0 = _mm512_add_epi32(_mm512_cvtps_epi32(f0), zp);
    const __m512i q1 = _mm512_add_epi32(_mm512_cvtps_epi32(f1), zp);
    const __m512i b = _mm512_permutex2var_epi8(q0, sel, q1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<uint8_t*>(t.c) + (m0 + r) * t.ldc + col),
                        _mm512_castsi512_si256(b));
  }
}

// 16 full columns of MR rows with VBMI: vpermb instead of vpmovdb.
template <int MR>
__attribute__((noinline, target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx512vbmi")))
void store_rows_vbmi16(const QGemmTile& t, const int32_t* sums, int64_t m0, int64_t col) {
  const __m512i k0 = _mm512_loadu_si512(t.comp + col);
  const __m512 u0 = _mm512_loadu_ps(t.mult + col);
  const __m512 lo = _mm512_set1_ps(t.lo), hi = _mm512_set1_ps(t.hi);
  const __m512i zp = _mm512_set1_epi32(t.zp);
  alignas(64) uint8_t idx[64];
  for (int i = 0; i < 64; ++i) idx[i] = uint8_t(i < 16 ? 4 * i : 0);
  const __m512i sel = _mm512_load_si512(idx);
  for (int r = 0; r < MR; ++r) {
    __m512 f0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_load_si512(sums + r * 16), k0)), u0);
    f0 = _mm512_min_ps(_mm512_max_ps(f0, lo), hi);
    const __m512i q0 = _mm512_add_epi32(_mm512_cvtps_epi32(f0), zp);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint8_t*>(t.c) + (m0 + r) * t.ldc + col),
                     _mm512_castsi512_si128(_mm512_permutexvar_epi8(sel, q0)));
  }
}

template <int MR, int NP>
__attribute__((noinline)) void store_rows(const QGemmTile& t, const int32_t* sums, int64_t m0,
                                          int64_t col) {
  const __mmask16 mask0 = col_mask(t.ncols - col), mask1 = col_mask(t.ncols - col - 16);
  if constexpr (NP == 2) {
    if (t.vbmi && t.mult && mask1 == 0xFFFF) {
      store_rows_vbmi<MR>(t, sums, m0, col);
      return;
    }
  } else {
    if (t.vbmi && t.mult && mask0 == 0xFFFF) {
      store_rows_vbmi16<MR>(t, sums, m0, col);
      return;
    }
  }
  Epi e0, e1;
  e0.comp = _mm512_maskz_loadu_epi32(mask0, t.comp + col);
  e1.comp = NP > 1 ? _mm512_maskz_loadu_epi32(mask1, t.comp + col + 16) : e0.comp;
  if (t.mult) {
    e0.lo = e1.lo = _mm512_set1_ps(t.lo);
    e0.hi = e1.hi = _mm512_set1_ps(t.hi);
    e0.zp = e1.zp = _mm512_set1_epi32(t.zp);
    e0.mult = _mm512_maskz_loadu_ps(mask0, t.mult + col);
    e1.mult = NP > 1 ? _mm512_maskz_loadu_ps(mask1, t.mult + col + 16) : e0.mult;
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    store16(t, e0, _mm512_load_si512(sums + (r * NP) * 16), m0 + r, col, mask0);
    if constexpr (NP > 1)
      store16(t, e1, _mm512_load_si512(sums + (r * NP + 1) * 16), m0 + r, col + 16, mask1);
  }
}

// Rows [m0, m0 + MR), panels [p0, p0 + NP) of the tile. The accumulators are named
// variables (not an array) so that the compiler keeps all of them in registers.
#define OCTET_ROW_DECL(r) __m512i c##r##_0 = _mm512_setzero_si512(), c##r##_1 = c##r##_0;
#define OCTET_ROW_STEP(r, LOAD)                                        \
  if constexpr (MR > r) {                                              \
    __m512i av = LOAD;                                                 \
    if (FLIP) av = _mm512_xor_si512(av, x80);                          \
    c##r##_0 = _mm512_dpbusd_epi32(c##r##_0, av, b0);                  \
    if constexpr (NP > 1) c##r##_1 = _mm512_dpbusd_epi32(c##r##_1, av, b1); \
  }
#define OCTET_ROWS(X, ...) \
  X(0, __VA_ARGS__) X(1, __VA_ARGS__) X(2, __VA_ARGS__) X(3, __VA_ARGS__) X(4, __VA_ARGS__) \
  X(5, __VA_ARGS__) X(6, __VA_ARGS__) X(7, __VA_ARGS__) X(8, __VA_ARGS__) X(9, __VA_ARGS__) \
  X(10, __VA_ARGS__) X(11, __VA_ARGS__)
#define OCTET_FULL(r, _) OCTET_ROW_STEP(r, bcast4(a + r * lda + 4 * g))
#define OCTET_IND(r, _) OCTET_ROW_STEP(r, bcast4(pr##r + off))
#define OCTET_PTR(r, _) const uint8_t* pr##r = IND && MR > r ? t.rows[m0 + r] : nullptr;
#define OCTET_DECL(r, _) OCTET_ROW_DECL(r)
#define OCTET_EPI(r, _)                                              \
  if constexpr (MR > r) {                                            \
    _mm512_store_si512(sums[r][0], c##r##_0);                        \
    if constexpr (NP > 1) _mm512_store_si512(sums[r][1], c##r##_1);  \
  }

#define OCTET_KSTEP(B0, B1, G)                 \
  {                                            \
    const int64_t g = (G);                     \
    const __m512i b0 = (B0), b1 = (B1);        \
    if constexpr (IND) {                       \
      const int64_t off = t.koff[g];           \
      OCTET_ROWS(OCTET_IND, _)                 \
    } else {                                   \
      OCTET_ROWS(OCTET_FULL, _)                \
    }                                          \
  }

template <int MR, int NP, bool FLIP, bool IND, bool I4>
void tile(const QGemmTile& t, int64_t m0, int64_t p0) {
  static_assert(MR >= 1 && MR <= 12 && NP >= 1 && NP <= 2);
  const int64_t col = p0 * 16;
  OCTET_ROWS(OCTET_DECL, _)
  // Indirect rows (implicit im2col) have no A (t.a is null): row m's k-group g is at
  // rows[m] + koff[g].
  const uint8_t* a = IND ? nullptr : t.a + m0 * t.lda;
  const int64_t lda = t.lda;
  OCTET_ROWS(OCTET_PTR, _)
  const int8_t* b = static_cast<const int8_t*>(t.b) + p0 * t.panel_bytes;
  const int8_t* bn = b + (NP > 1 ? t.panel_bytes : 0);
  const __m512i x80 = _mm512_set1_epi32(int32_t(0x80808080u));
  const int64_t K4 = t.K / 4;  // t.K is a multiple of 4 (qgemm pads A)
  if constexpr (I4) {
    // Nibbles to signed bytes through a 16-entry table.
    const __m512i lut = _mm512_broadcast_i32x4(
        _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1));
    const __m512i lo4 = _mm512_set1_epi8(0x0F);
    int64_t g2 = 0;
    for (; g2 + 1 < K4; g2 += 2) {
      const __m512i v0 = _mm512_loadu_si512(b + g2 * 32);
      const __m512i v1 = NP > 1 ? _mm512_loadu_si512(bn + g2 * 32) : v0;
      const __m512i l0 = _mm512_shuffle_epi8(lut, _mm512_and_si512(v0, lo4));
      const __m512i l1 = NP > 1 ? _mm512_shuffle_epi8(lut, _mm512_and_si512(v1, lo4)) : l0;
      OCTET_KSTEP(l0, l1, g2)
      const __m512i h0 = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v0, 4), lo4));
      const __m512i h1 =
          NP > 1 ? _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v1, 4), lo4)) : h0;
      OCTET_KSTEP(h0, h1, g2 + 1)
    }
    if (g2 < K4) {
      const __m512i v0 = _mm512_loadu_si512(b + g2 * 32);
      const __m512i v1 = NP > 1 ? _mm512_loadu_si512(bn + g2 * 32) : v0;
      const __m512i l0 = _mm512_shuffle_epi8(lut, _mm512_and_si512(v0, lo4));
      const __m512i l1 = NP > 1 ? _mm512_shuffle_epi8(lut, _mm512_and_si512(v1, lo4)) : l0;
      OCTET_KSTEP(l0, l1, g2)
    }
  } else {
    for (int64_t gg = 0; gg < K4; ++gg) {
      OCTET_KSTEP(_mm512_loadu_si512(b + gg * 64),
                  NP > 1 ? _mm512_loadu_si512(bn + gg * 64) : _mm512_setzero_si512(), gg)
    }
  }
  // Requantized by a separate function through memory: with the epilogue inline, GCC 12
  // spills the named accumulators inside the k loop.
  alignas(64) int32_t sums[MR][NP][16];
  OCTET_ROWS(OCTET_EPI, _)
  store_rows<MR, NP>(t, &sums[0][0][0], m0, col);
}

using TileFn = void (*)(const QGemmTile&, int64_t, int64_t);
constexpr int kMR = 12;

template <int NP, bool FLIP, bool IND, bool I4>
constexpr TileFn fn(int mr) {
  switch (mr) {
    case 1: return tile<1, NP, FLIP, IND, I4>;
    case 2: return tile<2, NP, FLIP, IND, I4>;
    case 3: return tile<3, NP, FLIP, IND, I4>;
    case 4: return tile<4, NP, FLIP, IND, I4>;
    case 5: return tile<5, NP, FLIP, IND, I4>;
    case 6: return tile<6, NP, FLIP, IND, I4>;
    case 7: return tile<7, NP, FLIP, IND, I4>;
    case 8: return tile<8, NP, FLIP, IND, I4>;
    case 9: return tile<9, NP, FLIP, IND, I4>;
    case 10: return tile<10, NP, FLIP, IND, I4>;
    case 11: return tile<11, NP, FLIP, IND, I4>;
    default: return tile<12, NP, FLIP, IND, I4>;
  }
}

template <bool IND, bool I4>
TileFn pick_ind(int mr, int np, bool flip) {
  if (np == 2) return flip ? fn<2, true, IND, I4>(mr) : fn<2, false, IND, I4>(mr);
  return flip ? fn<1, true, IND, I4>(mr) : fn<1, false, IND, I4>(mr);
}
TileFn pick(const QGemmTile& t, int mr, int np) {
  if (t.int4)
    return t.rows ? pick_ind<true, true>(mr, np, t.flip) : pick_ind<false, true>(mr, np, t.flip);
  return t.rows ? pick_ind<true, false>(mr, np, t.flip) : pick_ind<false, false>(mr, np, t.flip);
}

}  // namespace

void qgemm_vnni(const QGemmTile& t) {
  const int64_t npan = (t.ncols + 15) / 16;
  for (int64_t p = 0; p < npan; p += 2) {
    const int np = npan - p >= 2 ? 2 : 1;
    // Row tiles of balanced height (49 rows: 10, 10, 10, 10, 9 rather than 12 x 4 + 1).
    // Int4: at most 10 rows, leaving registers for the unpacked weights.
    const int64_t mr = t.int4 ? 10 : kMR;
    const int64_t ntiles = (t.M + mr - 1) / mr, base = t.M / ntiles, extra = t.M % ntiles;
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
