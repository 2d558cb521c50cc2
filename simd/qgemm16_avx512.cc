// AVX-512 VNNI W8A16 microkernel: vpdpwssd (s16 x s16 pairs summed into int32, exact) over
// chunks of k-pairs, each chunk's int32 sums widened into int64 registers. Tiles of up to
// 4 rows x 32 columns (two 16-column panels).
#include <immintrin.h>

#include <cstring>

#include "simd/qgemm16_kernels.h"
#include "simd/isa_target.h"

OCTET_ISA_TARGET_BEGIN("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
// GCC 12 flags the intrinsics headers' own undefined-vector idiom.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace octet::simd {
namespace {

template <int MR, int NP>
void tile(const QGemm16Tile& t, int64_t m0, int64_t p0) {
  const int64_t pairs = t.Kp / 2;
  const int16_t* b = t.b + p0 * t.panel_elems;
  __m512i s64[MR][NP][2];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NP; ++j) s64[r][j][0] = s64[r][j][1] = _mm512_setzero_si512();
  const int16_t* arow[MR];
  for (int r = 0; r < MR; ++r) arow[r] = t.a + (m0 + r) * t.lda;
  for (int64_t c0 = 0; c0 < pairs; c0 += kQGemm16PairsPerChunk) {
    const int64_t c1 = pairs < c0 + kQGemm16PairsPerChunk ? pairs : c0 + kQGemm16PairsPerChunk;
    __m512i s[MR][NP];
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NP; ++j) s[r][j] = _mm512_setzero_si512();
    for (int64_t k = c0; k < c1; ++k) {
      __m512i bv[NP];
      for (int j = 0; j < NP; ++j)
        bv[j] = _mm512_loadu_si512(b + j * t.panel_elems + k * 32);
      for (int r = 0; r < MR; ++r) {
        int32_t pair;
        std::memcpy(&pair, arow[r] + 2 * k, 4);
        const __m512i av = _mm512_set1_epi32(pair);
        for (int j = 0; j < NP; ++j) s[r][j] = _mm512_dpwssd_epi32(s[r][j], av, bv[j]);
      }
    }
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NP; ++j) {
        s64[r][j][0] = _mm512_add_epi64(s64[r][j][0], _mm512_cvtepi32_epi64(_mm512_castsi512_si256(s[r][j])));
        s64[r][j][1] = _mm512_add_epi64(s64[r][j][1], _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(s[r][j], 1)));
      }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NP; ++j) {
      int64_t* out = t.acc + (m0 + r) * t.ldacc + (p0 + j) * 16;
      _mm512_storeu_si512(out, s64[r][j][0]);
      _mm512_storeu_si512(out + 8, s64[r][j][1]);
    }
}

template <int NP>
void rows(const QGemm16Tile& t, int64_t p0) {
  int64_t m = 0;
  for (; m + 4 <= t.M; m += 4) tile<4, NP>(t, m, p0);
  switch (t.M - m) {
    case 3: tile<3, NP>(t, m, p0); break;
    case 2: tile<2, NP>(t, m, p0); break;
    case 1: tile<1, NP>(t, m, p0); break;
    default: break;
  }
}

}  // namespace

void qgemm16_avx512(const QGemm16Tile& t) {
  int64_t p = 0;
  for (; p + 2 <= t.npanels; p += 2) rows<2>(t, p);
  if (p < t.npanels) rows<1>(t, p);
}

}  // namespace octet::simd

OCTET_ISA_TARGET_END
