// im2col of NHWC f32 images for implicit-GEMM convolution (Highway dispatch).
#pragma once
#include <cstdint>

namespace octet::simd {

struct Im2colShape {
  int64_t N, H, W, C;      // input, channels-last
  int64_t OH, OW;          // output size
  int64_t KH, KW, sh, sw, dh, dw, pt, pl;
  int64_t Cg;              // channels per group
};

// Writes, for output pixels r in [r0, r1) (flattened over N, OH, OW), the rows
// col[(r - r0) * K + (kh*KW + kw)*Cg + c] = x[n, ih, iw, g*Cg + c] (0 outside the image),
// K = KH*KW*Cg.
void im2col_nhwc_f32(const float* x, const Im2colShape& s, int64_t g, int64_t r0, int64_t r1,
                     float* col);

}  // namespace octet::simd
