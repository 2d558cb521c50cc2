// Depthwise 2-D convolution over NHWC f32, vectorized across channels (Highway dispatch).
#pragma once
#include <cstdint>

namespace octet::simd {

struct DwConvShape {
  int64_t H, W, C;        // input image (one batch item), channels-last
  int64_t KH, KW;         // kernel
  int64_t sh, sw, dh, dw; // strides, dilations
  int64_t pt, pl;         // leading pads (trailing pads are implied by OH, OW)
  int64_t OH, OW;         // output image
  float lo, hi;           // output clamp
};

// Computes output rows [oh_begin, oh_end) of one image. `w` is [KH][KW][C]; `bias` holds C
// floats or is null. `in` and `out` point at the image (H*W*C and OH*OW*C floats).
void dwconv_nhwc_f32(const float* in, const float* w, const float* bias, float* out,
                     const DwConvShape& s, int64_t oh_begin, int64_t oh_end);

}  // namespace octet::simd
