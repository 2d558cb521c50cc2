// AVX-512 VNNI integer GEMM: register tiles of up to 12 rows x 32 columns, vpdpbusd on 4 bytes
// of A (broadcast) against 16 columns x 4 k of packed B. Compiled for AVX-512 VNNI only;
// kernels/qgemm.cc calls it after checking the CPU.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "simd/qgemm_kernels.h"

// GCC 12 warns about the _mm512_undefined_* inside its own intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")

namespace octet::simd {
namespace {

#include "simd/qgemm_epilogue_avx512-inl.h"

inline __m512i bcast4(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
inline __m512i bcast_tail(const uint8_t* p, int64_t n) {  // n < 4 bytes, the rest zero
  int32_t v = 0;
  memcpy(&v, p, size_t(n));
  return _mm512_set1_epi32(v);
}

// Rows [m0, m0 + MR), panels [p0, p0 + NP) of the tile.
template <int MR, int NP, bool FLIP>
void tile(const QGemmTile& t, int64_t m0, int64_t p0) {
  __m512i acc[MR][NP];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_setzero_si512();
  const uint8_t* a = t.a + m0 * t.lda;
  const int8_t* b = static_cast<const int8_t*>(t.b) + p0 * t.panel_bytes;
  const __m512i x80 = _mm512_set1_epi32(int32_t(0x80808080u));
  const int64_t K4 = t.K / 4, rem = t.K % 4;
  for (int64_t g = 0; g < K4; ++g) {
    __m512i bv[NP];
#pragma GCC unroll 2
    for (int p = 0; p < NP; ++p) bv[p] = _mm512_loadu_si512(b + p * t.panel_bytes + g * 64);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      __m512i av = bcast4(a + r * t.lda + 4 * g);
      if (FLIP) av = _mm512_xor_si512(av, x80);
#pragma GCC unroll 2
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], av, bv[p]);
    }
  }
  if (rem) {  // last group of K: B is zero padded, A's missing bytes read as zero
    __m512i bv[NP];
#pragma GCC unroll 2
    for (int p = 0; p < NP; ++p) bv[p] = _mm512_loadu_si512(b + p * t.panel_bytes + K4 * 64);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      __m512i av = bcast_tail(a + r * t.lda + 4 * K4, rem);
      if (FLIP) av = _mm512_xor_si512(av, x80);
#pragma GCC unroll 2
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], av, bv[p]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int p = 0; p < NP; ++p) {
      const int64_t col = (p0 + p) * 16;
      epilogue16(t, acc[r][p], m0 + r, col, col_mask(t.ncols - col));
    }
}

using TileFn = void (*)(const QGemmTile&, int64_t, int64_t);
constexpr int kMR = 12;

template <int NP, bool FLIP>
constexpr TileFn fn(int mr) {
  switch (mr) {
    case 1: return tile<1, NP, FLIP>;
    case 2: return tile<2, NP, FLIP>;
    case 3: return tile<3, NP, FLIP>;
    case 4: return tile<4, NP, FLIP>;
    case 5: return tile<5, NP, FLIP>;
    case 6: return tile<6, NP, FLIP>;
    case 7: return tile<7, NP, FLIP>;
    case 8: return tile<8, NP, FLIP>;
    case 9: return tile<9, NP, FLIP>;
    case 10: return tile<10, NP, FLIP>;
    case 11: return tile<11, NP, FLIP>;
    default: return tile<12, NP, FLIP>;
  }
}

TileFn pick(int mr, int np, bool flip) {
  if (np == 2) return flip ? fn<2, true>(mr) : fn<2, false>(mr);
  return flip ? fn<1, true>(mr) : fn<1, false>(mr);
}

}  // namespace

void qgemm_vnni(const QGemmTile& t) {
  const int64_t npan = (t.ncols + 15) / 16;
  for (int64_t p = 0; p < npan; p += 2) {
    const int np = npan - p >= 2 ? 2 : 1;
    const TileFn full = pick(kMR, np, t.flip);
    int64_t m = 0;
    for (; m + kMR <= t.M; m += kMR) full(t, m, p);
    if (m < t.M) pick(int(t.M - m), np, t.flip)(t, m, p);
  }
}

}  // namespace octet::simd
