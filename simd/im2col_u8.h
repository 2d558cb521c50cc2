// im2col for channels-last integer codes: one row of K = KH * KW * Cg bytes per output pixel
// (tap-major, channels innermost, the order the packed conv weights use), padding taps filled
// with the input zero point's code, rows `ld` bytes apart (ld >= K; bytes K..ld are zeroed).
#pragma once
#include <cstdint>

namespace octet::simd {

struct Im2colU8 {
  int64_t H = 0, W = 0, C = 0;  // input (one image), C channels per pixel
  int64_t c0 = 0, Cg = 0;       // channel range of the group
  int64_t OW = 0, KH = 1, KW = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;
  uint8_t pad = 0;              // code of the input zero point
};

// Output pixels [p0, p0 + rows) of image x (row-major over OH x OW) into col.
void im2col_u8(const Im2colU8& g, const uint8_t* x, int64_t p0, int64_t rows, uint8_t* col,
               int64_t ld);

}  // namespace octet::simd
