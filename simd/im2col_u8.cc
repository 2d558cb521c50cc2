#include "simd/im2col_u8.h"

#include <cstring>

namespace octet::simd {

void im2col_u8(const Im2colU8& g, const uint8_t* x, int64_t p0, int64_t rows, uint8_t* col,
               int64_t ld) {
  const size_t cg = size_t(g.Cg);
  const int64_t K = g.KH * g.KW * g.Cg;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t oh = (p0 + r) / g.OW, ow = (p0 + r) % g.OW;
    uint8_t* dst = col + r * ld;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
      const bool row_in = ih >= 0 && ih < g.H;
      for (int64_t kw = 0; kw < g.KW; ++kw, dst += cg) {
        const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
        if (row_in && iw >= 0 && iw < g.W)
          std::memcpy(dst, x + (ih * g.W + iw) * g.C + g.c0, cg);
        else
          std::memset(dst, g.pad, cg);
      }
    }
    if (ld > K) std::memset(col + r * ld + K, 0, size_t(ld - K));
  }
}

}  // namespace octet::simd
