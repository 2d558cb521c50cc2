#include "kernels/qlinear_reference.h"

#include "base/error.h"

namespace octet::kernels {

void int_matmul_reference(int64_t M, int64_t N, int64_t K, IntCodes a, const int32_t* a_zp,
                          IntCodes b, const int32_t* b_zp, int32_t* c) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int32_t acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc = wrapping_add(acc, (a.at(m * K + k) - a_zp[m]) * (b.at(k * N + n) - b_zp[n]));
      c[m * N + n] = acc;
    }
}

void int_conv2d_nchw_reference(const ConvParams& p, IntCodes x, int32_t x_zp, IntCodes w,
                               const int32_t* w_zp, int32_t* y) {
  const int64_t Cg = p.C / p.group, Mg = p.M / p.group;
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t m = 0; m < p.M; ++m) {
      const int64_t g = m / Mg;
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          int32_t acc = 0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh) {
              const int64_t ih = oh * p.sh - p.pt + kh * p.dh;
              if (ih < 0 || ih >= p.H) continue;
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                const int64_t iw = ow * p.sw - p.pl + kw * p.dw;
                if (iw < 0 || iw >= p.W) continue;
                const int32_t xv = x.at(((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw) - x_zp;
                const int32_t wv = w.at(((m * Cg + c) * p.KH + kh) * p.KW + kw) - w_zp[m];
                acc = wrapping_add(acc, xv * wv);
              }
            }
          y[((n * p.M + m) * p.OH + oh) * p.OW + ow] = acc;
        }
    }
}

void store_requantized(int32_t acc, float multiplier, int32_t zero_point, DType out_type,
                       void* out, int64_t i) {
  ChannelMultiplier m;
  m.multiplier = multiplier;
  if (out_type == DType::kU8) {
    static_cast<uint8_t*>(out)[i] =
        uint8_t(requantize_one(RequantScheme::kFp32, acc, m, zero_point, 0, 255));
  } else if (out_type == DType::kI8) {
    static_cast<int8_t*>(out)[i] =
        int8_t(requantize_one(RequantScheme::kFp32, acc, m, zero_point, -128, 127));
  } else {
    fail("qlinear: output type must be u8 or i8, got ", dtype_name(out_type));
  }
}

}  // namespace octet::kernels
