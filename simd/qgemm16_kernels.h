// Microkernels of the W8A16 GEMM (kernels/qgemm16.h): s16 A times s16 weight panels, exact
// int64 sums. Each is compiled for its ISA; kernels/qgemm16.cc calls it after checking the CPU.
#pragma once
#include <cstdint>

namespace octet::simd {

// Chunk of k-pairs summed in int32 before widening: 128 pairs of |a| <= 2^15, |w| <= 2^7
// give |sum| <= 2^30.
constexpr int64_t kQGemm16PairsPerChunk = 128;

struct QGemm16Tile {
  const int16_t* a = nullptr;  // M rows, stride lda, Kp readable values (zeros past K)
  int64_t lda = 0;
  int64_t M = 0;
  int64_t Kp = 0;              // even
  const int16_t* b = nullptr;  // npanels panels of pw columns: [Kp / 2][pw][2] int16 each
  int64_t panel_elems = 0;
  int64_t npanels = 0;
  int64_t* acc = nullptr;      // M x (npanels * pw) sums, overwritten
  int64_t ldacc = 0;
};

void qgemm16_avx2(const QGemm16Tile& t);    // pw = 8
void qgemm16_avx512(const QGemm16Tile& t);  // pw = 16 (AVX-512 VNNI: vpdpwssd)

}  // namespace octet::simd
