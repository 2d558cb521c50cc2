#include "simd/im2col_u8.h"

#include <cstring>

namespace octet::simd {

namespace {
// Short copies (a few channels) without a library call.
inline void copy_bytes(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n > 64) {
    std::memcpy(dst, src, n);
  } else if (n > 32) {  // four overlapping 16-byte moves
    std::memcpy(dst, src, 16);
    std::memcpy(dst + 16, src + 16, 16);
    std::memcpy(dst + n - 32, src + n - 32, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 16) {  // two overlapping 16-byte moves
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {  // two overlapping 8-byte moves
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}
}  // namespace

void im2col_u8(const Im2colU8& g, const uint8_t* x, int64_t p0, int64_t rows, uint8_t* col,
               int64_t ld) {
  const size_t cg = size_t(g.Cg);
  const int64_t K = g.KH * g.KW * g.Cg;
  // All channels and unit dilation: the KW taps of a kernel row are one run of input bytes.
  const bool runs = g.Cg == g.C && g.dw == 1;
  int64_t oh = p0 / g.OW, ow = p0 % g.OW;
  for (int64_t r = 0; r < rows; ++r, ow = ow + 1 == g.OW ? (++oh, 0) : ow + 1) {
    uint8_t* dst = col + r * ld;
    const int64_t iw0 = ow * g.sw - g.pl;
    const bool cols_in = iw0 >= 0 && iw0 + (g.KW - 1) * g.dw < g.W;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
      const bool row_in = ih >= 0 && ih < g.H;
      if (runs && row_in && cols_in) {
        copy_bytes(dst, x + (ih * g.W + iw0) * g.C, size_t(g.KW) * cg);
        dst += size_t(g.KW) * cg;
        continue;
      }
      for (int64_t kw = 0; kw < g.KW; ++kw, dst += cg) {
        const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
        if (row_in && iw >= 0 && iw < g.W)
          copy_bytes(dst, x + (ih * g.W + iw) * g.C + g.c0, cg);
        else
          std::memset(dst, g.pad, cg);
      }
    }
    for (int64_t k = K; k < ld; ++k) col[r * ld + k] = 0;
  }
}

}  // namespace octet::simd
