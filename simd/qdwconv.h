// Depthwise integer convolution over channels-last rows, one output pixel at a time from a
// list of tap pointers (each tap: C input codes, or a row of zero-point codes for padding).
// Taps come in pairs: the int16 codes of two taps share one int32 lane and vpmaddwd multiplies
// them with the two taps' weights (exact: |code| <= 255, |w| <= 128). s8 codes are read as u8
// (xor 0x80, `flip`); the zero point lives in comp[c] = bias - zp * sum(w).
// Channel blocks of 2V (V = int32 lanes: 16 for AVX-512, 8 for AVX2) are kept in the order
// the 16-bit interleave produces: within a block, lane j of the "lo" vector is channel
// (j / 4) * 8 + j % 4 and lane j of the "hi" vector is that + 4 (qdw_lane_channel).
#pragma once
#include <cstdint>

namespace octet::simd {

inline int64_t qdw_lane_channel(int64_t j, bool hi) { return (j / 4) * 8 + j % 4 + (hi ? 4 : 0); }

struct QDwArgs {
  int64_t C = 0;
  int64_t Tp = 0;              // taps per pixel, even
  bool flip = false;
  const int32_t* w = nullptr;  // [Tp / 2][blocks][2][V]: (w_t0 & 0xffff) | w_t1 << 16
  const int32_t* comp = nullptr;  // [blocks][2][V]
  const float* mult = nullptr;    // [blocks][2][V], fp32 requantization; null: int32 out
  float lo = 0.f, hi = 0.f;
  int32_t zp = 0;
};

// npix pixels; taps[pix * Tp + t]; out: npix * C bytes (mult) or int32 values.
void qdwconv_avx512(const QDwArgs& a, const uint8_t* const* taps, int64_t npix, void* out);
// AVX2: Tp <= 64 (kqdw_avx2_max_taps).
constexpr int64_t kqdw_avx2_max_taps = 64;
void qdwconv_avx2(const QDwArgs& a, const uint8_t* const* taps, int64_t npix, void* out);

}  // namespace octet::simd
