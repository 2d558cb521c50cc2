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

namespace octet::simd {

// Depthwise convolution with AVX-512 VNNI, several output pixels of one row per step with the
// weights of a tap loaded once for all of them. vpdpbusd sums 4 adjacent bytes, so each tap's
// weights come as 4 vectors, vector q holding the weight of byte 4i + q in byte q of int32
// lane i (zeros elsewhere): accumulator q, lane i collects the vector's byte 4i + q. Bytes of
// a vector ("positions") map to channels either naturally (block b: channel 64b + pos) or,
// for C dividing 64 and unit stride ("paired"), to 64 / C consecutive pixels (channel
// pos % C). Exact: u8 x s8 products summed in int32 (wrapping).
struct QDwVnniArgs {
  const uint8_t* const* rows = nullptr;  // KH row bases (input row, or a row of zp codes)
  int64_t KH = 0, KW = 0;
  int64_t tap_bytes = 0;  // input bytes between kernel columns (dw * C)
  int64_t vec_in = 0;     // input bytes between consecutive vectors' pixels
  int64_t vec_out = 0;    // output elements between consecutive vectors' pixels
  int64_t blocks = 0;     // 64-position blocks per vector set
  int64_t width = 0;      // valid positions in total (C, or 64 when paired)
  bool flip = false;
  const int8_t* w = nullptr;      // [blocks][KH * KW][4][64]
  const int32_t* comp = nullptr;  // [blocks][4][16]
  const float* mult = nullptr;    // [blocks][4][16]; null: int32 out
  float lo = 0.f, hi = 0.f;
  int32_t zp = 0;
};

// nvec vectors' pixels; the first pixel's kernel column 0 at byte offset x0 of every row
// base; out: the first pixel's output (u8/s8 codes, or int32 when mult is null).
void qdwconv_vnni_row(const QDwVnniArgs& a, int64_t x0, int64_t nvec, void* out);
// One pixel from KH * KW tap pointers (channel 0 of each tap), natural layout.
void qdwconv_vnni_taps(const QDwVnniArgs& a, const uint8_t* const* taps, void* out);

}  // namespace octet::simd

namespace octet::simd {

// Depthwise convolution with AVX2 over one output row: kernel rows are paired (kh = 2p, 2p + 1)
// and each input column's codes of a pair are widened and interleaved once (U), then every
// output pixel sums vpmaddwd(U[column], pair weights) over its kernel columns: the widening
// is shared by the KW output pixels that read a column. Channel blocks of 16 in the lane order
// of qdw_lane_channel (V = 8).
struct QDwAvx2Rows {
  const uint8_t* const* rows = nullptr;  // KH input rows (channel 0 of column 0), null: padding
  int64_t W = 0, C = 0, KH = 0, KW = 0, sw = 1, dw = 1, pl = 0, OW = 0;
  uint8_t pad = 0;                 // input zero point code
  const int32_t* w = nullptr;      // [blocks][KH/2 rounded up][KW][2][8]
  int32_t* scratch = nullptr;      // qdw_avx2_rows_scratch(...) int32 values, 32-byte aligned
};
int64_t qdw_avx2_rows_scratch(int64_t KH, int64_t OW, int64_t KW, int64_t sw, int64_t dw);
// One output row: out = OW * C bytes (a.mult) or int32 values. a.w is unused (r.w instead).
void qdwconv_avx2_row(const QDwArgs& a, const QDwAvx2Rows& r, void* out);

}  // namespace octet::simd
