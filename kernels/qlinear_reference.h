// General integer reference for ONNX's integer ops (QLinearConv, QLinearMatMul, ConvInteger,
// MatMulInteger): u8 or s8 codes on both sides, any zero points (per tensor, per output
// channel / column, per row), exact int32 sums with two's complement wrap-around (what the
// integer hardware does). The optimized path (kernels/qgemm.h, kernels/qconv.h) covers the
// common case of constant s8 weights with zero point 0 and is tested equal to this.
#pragma once
#include <cstdint>

#include "base/dtype.h"
#include "kernels/conv.h"
#include "kernels/requant.h"

namespace octet::kernels {

// Codes of a u8 or s8 tensor.
struct IntCodes {
  const void* data = nullptr;
  bool is_signed = false;  // s8, else u8
  int32_t at(int64_t i) const {
    return is_signed ? int32_t(static_cast<const int8_t*>(data)[i])
                     : int32_t(static_cast<const uint8_t*>(data)[i]);
  }
};

// c[m][n] = sum_k (a[m][k] - a_zp[m]) * (b[k][n] - b_zp[n]); a row-major M x K, b row-major
// K x N (ONNX MatMul layout), c row-major M x N int32. a_zp: M values, b_zp: N values.
void int_matmul_reference(int64_t M, int64_t N, int64_t K, IntCodes a, const int32_t* a_zp,
                          IntCodes b, const int32_t* b_zp, int32_t* c);

// NCHW integer convolution (1-D runs as H = 1): y[n][m][oh][ow] = sum over the receptive field
// of (x - x_zp) * (w - w_zp[m]); padding reads x_zp (contributes 0). w in ONNX layout
// [M][C/group][KH][KW]; w_zp: M values. p.lo / p.hi are ignored.
void int_conv2d_nchw_reference(const ConvParams& p, IntCodes x, int32_t x_zp, IntCodes w,
                               const int32_t* w_zp, int32_t* y);

// The kFp32 multiplier of ONNX Runtime's QLinear ops: (in_scale * w_scale) / out_scale in
// float, this order (no range check beyond finite and positive scales, which the caller
// validates).
inline ChannelMultiplier onnx_fp32_multiplier(float in_scale, float w_scale, float out_scale) {
  ChannelMultiplier m;
  m.multiplier = (in_scale * w_scale) / out_scale;
  return m;
}

// One output code: requantize_one(kFp32, acc (+ bias, wrapping), multiplier, zp, range of
// out_type) stored as u8 or s8 at out[i].
void store_requantized(int32_t acc, float multiplier, int32_t zero_point, DType out_type,
                       void* out, int64_t i);

}  // namespace octet::kernels
