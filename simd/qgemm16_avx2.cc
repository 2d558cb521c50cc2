// AVX2 W8A16 microkernel: vpmaddwd (s16 x s16 pairs summed into int32, exact) + vpaddd over
// chunks of k-pairs; after each chunk the int32 sums are widened and added to the int64 sums
// in memory. Tiles of up to 4 rows x 16 columns (two 8-column panels).
#include <immintrin.h>

#include <cstring>

#include "simd/qgemm16_kernels.h"
#include "simd/isa_target.h"

OCTET_ISA_TARGET_BEGIN("avx2,fma")

namespace octet::simd {
namespace {

template <int MR, int NP>
void tile(const QGemm16Tile& t, int64_t m0, int64_t p0) {
  const int64_t pairs = t.Kp / 2;
  const int16_t* b = t.b + p0 * t.panel_elems;
  const int16_t* arow[MR];
  for (int r = 0; r < MR; ++r) arow[r] = t.a + (m0 + r) * t.lda;
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NP; ++j) {
      int64_t* out = t.acc + (m0 + r) * t.ldacc + (p0 + j) * 8;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_setzero_si256());
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4), _mm256_setzero_si256());
    }
  for (int64_t c0 = 0; c0 < pairs; c0 += kQGemm16PairsPerChunk) {
    const int64_t c1 = pairs < c0 + kQGemm16PairsPerChunk ? pairs : c0 + kQGemm16PairsPerChunk;
    __m256i s[MR][NP];
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NP; ++j) s[r][j] = _mm256_setzero_si256();
    for (int64_t k = c0; k < c1; ++k) {
      __m256i bv[NP];
      for (int j = 0; j < NP; ++j)
        bv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + j * t.panel_elems + k * 16));
      for (int r = 0; r < MR; ++r) {
        int32_t pair;
        std::memcpy(&pair, arow[r] + 2 * k, 4);
        const __m256i av = _mm256_set1_epi32(pair);
        for (int j = 0; j < NP; ++j) s[r][j] = _mm256_add_epi32(s[r][j], _mm256_madd_epi16(av, bv[j]));
      }
    }
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NP; ++j) {
        auto* out = reinterpret_cast<__m256i*>(t.acc + (m0 + r) * t.ldacc + (p0 + j) * 8);
        const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(s[r][j]));
        const __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(s[r][j], 1));
        _mm256_storeu_si256(out, _mm256_add_epi64(_mm256_loadu_si256(out), lo));
        _mm256_storeu_si256(out + 1, _mm256_add_epi64(_mm256_loadu_si256(out + 1), hi));
      }
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

void qgemm16_avx2(const QGemm16Tile& t) {
  int64_t p = 0;
  for (; p + 2 <= t.npanels; p += 2) rows<2>(t, p);
  if (p < t.npanels) rows<1>(t, p);
}

}  // namespace octet::simd

OCTET_ISA_TARGET_END
