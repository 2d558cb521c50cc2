// octet.Requantize: 8-bit codes of one encoding to codes of another (u8 / i8 in and out).
//   fp32:        y = roundeven(clamp(float(x - zx) * m, qmin - zy, qmax - zy)) + zy,
//                m = sx / sy in float
//   fixed point: y = clamp(scale_accumulator(scheme, x - zx, M) + zy, qmin, qmax),
//                M from the double sx / sy (kernels::make_multiplier_from_real)
#pragma once
#include <cstdint>

#include "base/dtype.h"
#include "kernels/requant.h"
#include "simd/q_eltwise.h"

namespace octet::kernels {

struct RequantizeParams {
  RequantScheme scheme = RequantScheme::kFp32;
  DType x_type = DType::kU8, y_type = DType::kU8;
  int32_t zx = 0, zy = 0, qmin = 0, qmax = 255;
  ChannelMultiplier m;       // fixed point
  simd::QAffineF32 fp32;     // za = zx, ma = sx / sy, lo / hi / zy
};

// Fills p.m and p.fp32 (scheme, zero points and range already set).
void set_requantize_scales(RequantizeParams& p, float sx, float sy);

inline int32_t requantize_code(const RequantizeParams& p, int32_t x) {
  if (p.scheme == RequantScheme::kFp32) return simd::q_requant_fp32_one(x, p.fp32);
  const int64_t v = int64_t(scale_accumulator(p.scheme, x - p.zx, p.m)) + p.zy;
  return int32_t(v < p.qmin ? p.qmin : v > p.qmax ? p.qmax : v);
}

void requantize_reference(const RequantizeParams& p, const void* x, void* y, int64_t n);
void requantize(const RequantizeParams& p, const void* x, void* y, int64_t n, int threads);

}  // namespace octet::kernels
