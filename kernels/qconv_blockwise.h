// Integer 2-D convolution with per-block int4 weights (W4A8 blockwise), NHWC codes in and out
// (1-D runs as H = 1). Weights: ONNX layout [M][C/group][KH][KW] as signed nibbles (two a
// byte, low nibble first), one scale per (output channel, block of `block` input channels of
// the group, kernel tap): the blocked layout of axis 1, w_scale[((m * Cb + cb) * KH + kh) * KW
// + kw] with Cb = (C / group) / block. Needs (C / group) % block == 0 (a depthwise conv has
// C / group = 1 and cannot have blocks).
//
// The im2col order of a receptive field is (kh, kw, c): the blocks are contiguous runs of K =
// KH * KW * C/group, block j = (kh * KW + kw) * Cb + cb. The result of one output (n, oh, ow,
// m), group g = m / (M / group), is defined by the arithmetic of kernels/qgemm.h
// QGemmBlockwise over that order (every path and the `exact` mode give these bits):
//   s_j = sum over c in block cb of (x[n, ih, iw, g * C/group + c] - x_zp) * w[m, c, kh, kw]
//         (int32, wrapping; a tap in the padding reads the input zero point)
//   f = 0.f; for j = 0 .. KH * KW * Cb - 1 in order: f = f + float(s_j) * scale_j  (no FMA)
//   g = f * m; g = g + bias_f[m] (when bias_f is not null); clamp to [qmin - zp, qmax - zp]
//   (a NaN becomes the low end); q = round_half_even(g) + zp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kernels/conv.h"
#include "kernels/qgemm.h"

namespace octet::kernels {

struct QConvBlockwiseQuant {
  bool x_signed = false;          // s8 input codes, else u8
  int32_t x_zero_point = 0;
  int64_t block = 32;             // 32, 64 or 128 input channels
  const float* w_scale = nullptr;  // M * (C / group / block) * KH * KW, blocked layout above
  float m = 1.f;                  // x_scale / y_scale
  const float* bias_f = nullptr;  // M values (bias / y_scale) or null
  int32_t zero_point = 0;         // output zero point
  int32_t qmin = 0, qmax = 255;   // output code range (a fused activation's clamp included)
  DType out_type = DType::kU8;    // kU8 or kI8
};

// Empty when the convolution can run with these blocks, else the reason it cannot.
std::string qconv_blockwise_unsupported(const ConvParams& p, int64_t block);

// The definition: plain loops (output pixels split over `threads`; the bits do not depend
// on it). p.lo / p.hi are ignored.
void qconv2d_blockwise_reference(const ConvParams& p, const QConvBlockwiseQuant& q,
                                 const void* x, const uint8_t* w_nibbles, void* y,
                                 int threads = 1);

// Optimized: pointwise as one blockwise GEMM over the input rows, everything else as im2col
// tiles (simd/im2col_u8.h) times the packed int4 weights of each group (qgemm_blockwise).
class QConvBlockwiseNhwc {
 public:
  // Copies what it needs (weights packed, scales and bias reordered); q's pointers need not
  // outlive the constructor.
  QConvBlockwiseNhwc(const ConvParams& p, const QConvBlockwiseQuant& q, const uint8_t* w_nibbles,
                     int threads, QIsa isa);
  ~QConvBlockwiseNhwc();
  void run(const void* x, void* y);
  std::string_view impl_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace octet::kernels
