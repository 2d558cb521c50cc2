#include <vector>

#include "base/error.h"
#include "kernels/qconv.h"

namespace octet::kernels {

// NHWC codes; the sum over each receptive field is exact in int32 (wrap-around on overflow,
// like the integer hardware).
void qconv2d_reference(const ConvParams& p, const QConvQuant& q, const void* x, const int8_t* w,
                       const int32_t* bias, void* y) {
  OCTET_CHECK(q.out_type == DType::kU8 || q.out_type == DType::kI8,
              "qconv: output type must be u8 or i8, got ", dtype_name(q.out_type));
  const int64_t Cg = p.C / p.group, Mg = p.M / p.group;
  const auto* xb = static_cast<const uint8_t*>(x);
  auto code = [&](int64_t i) {
    return q.x_signed ? int32_t(int8_t(xb[i])) : int32_t(xb[i]);
  };
  auto* yb = static_cast<uint8_t*>(y);
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t oh = 0; oh < p.OH; ++oh)
      for (int64_t ow = 0; ow < p.OW; ++ow)
        for (int64_t m = 0; m < p.M; ++m) {
          const int64_t g = m / Mg;
          int32_t acc = 0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh) {
              const int64_t ih = oh * p.sh - p.pt + kh * p.dh;
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                const int64_t iw = ow * p.sw - p.pl + kw * p.dw;
                const bool inside = ih >= 0 && ih < p.H && iw >= 0 && iw < p.W;
                const int32_t xv =
                    inside ? code(((n * p.H + ih) * p.W + iw) * p.C + g * Cg + c) : q.x_zero_point;
                const int32_t wv = w[((m * Cg + c) * p.KH + kh) * p.KW + kw];
                acc = wrapping_add(acc, (xv - q.x_zero_point) * wv);
              }
            }
          const int64_t o = ((n * p.OH + oh) * p.OW + ow) * p.M + m;
          requantize_row_reference(&acc, bias, 1, m, q.requant, yb + o, q.out_type);
        }
}

}  // namespace octet::kernels
