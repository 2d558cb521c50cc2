// Vectorized float <-> integer-code quantization (Highway, dispatched at run time).
//
// One formula, shared bit-for-bit by the scalar element functions below and the SIMD code:
//   quantize:    q  = clamp(roundeven(x / scale) + zp, qmin, qmax)      (float math, IEEE division)
//   dequantize:  x' = (float(q) - zp) * scale
//   fused qdq:   x' = (clamp(roundeven(x / scale) + zp, qmin, qmax) - zp) * scale
// zp, qmin and qmax are integers held exactly in float. Rounding is half to even, independent of
// the FP environment's rounding mode. NaN input: quantize gives the zero point (the code of real 0);
// fused qdq passes NaN through (as a float simulator does). +-inf clamp to qmax / qmin.
// `x / scale` is a true division (not a multiplication by 1/scale), so results do not depend on how a
// reciprocal would round.
#pragma once
#include <cstddef>
#include <cstdint>

#include "simd/round_half_even.h"

namespace octet::simd {

enum class QCode : int { kI32, kI16, kU16, kI8, kU8 };

// Scalar element functions (the reference the SIMD code must match exactly).
inline float quantize_code_f32(float x, float scale, float zp, float qmin, float qmax) {
  if (x != x) return zp;
  float v = round_half_even(x / scale) + zp;
  v = v < qmin ? qmin : v;
  return v > qmax ? qmax : v;
}
inline float dequantize_code_f32(float q, float scale, float zp) { return (q - zp) * scale; }
inline float quantize_dequantize_f32_one(float x, float scale, float zp, float qmin, float qmax) {
  if (x != x) return x;
  return dequantize_code_f32(quantize_code_f32(x, scale, zp, qmin, qmax), scale, zp);
}

// Parameters of a run of n elements: one (scale, zp) for all (per_element == false: scale[0],
// zp[0]) or one per element (per_element == true: scale[i], zp[i], i < n).
struct QRunParams {
  const float* scale;
  const float* zero_point;
  bool per_element;
  float qmin;
  float qmax;
};

// q[i] (of type `code`) = quantize(x[i]); qmin/qmax must lie inside the code type's range.
void quantize_f32(const float* x, void* q, QCode code, size_t n, const QRunParams& p);
// y[i] = dequantize(q[i]) (qmin/qmax unused).
void dequantize_f32(const void* q, QCode code, float* y, size_t n, const QRunParams& p);
// y[i] = quantize-dequantize(x[i]); x may equal y.
void quantize_dequantize_f32(const float* x, float* y, size_t n, const QRunParams& p);

}  // namespace octet::simd
