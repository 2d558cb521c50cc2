// Vectorized 8-bit integer elementwise arithmetic of the integer graph (Highway, dispatched at
// run time): QAdd / QMul with the fp32 requantization scheme, code-to-code requantization and
// the fp32 requantization of int32 accumulators (pools).
//
// One formula per function, shared bit for bit by the scalar element functions below (used for
// the tails) and the SIMD code. All values before the final rounding are exact small integers
// in float except the products with the multipliers; every operation is one IEEE fp32 operation
// (no FMA: the library builds with -ffp-contract=off, and Highway's Mul/Add are separate ops).
// Rounding is half to even (roundeven / hn::Round), independent of the FP environment.
// lo / hi are the output code range minus the output zero point (qmin - zy, qmax - zy); the
// clamp comes before the rounding, as XNNPACK does.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "simd/round_half_even.h"

#include "simd/quantize.h"  // QCode

namespace octet::simd {

struct QAffineF32 {
  float za = 0, zb = 0;  // input zero points
  float ma = 0, mb = 0;  // multipliers (QAdd: sa/sy and sb/sy; QMul: ma = (sa*sb)/sy, mb unused)
  float lo = 0, hi = 0;  // qmin - zy, qmax - zy
  float zy = 0;          // output zero point
};

inline float q_clamp_round(float f, float lo, float hi) {
  f = f < lo ? lo : f;
  f = f > hi ? hi : f;
  return round_half_even(f);
}
// QAdd, fp32 scheme: roundeven(clamp((a - za) * ma + (b - zb) * mb, lo, hi)) + zy.
inline int32_t q_add_fp32_one(int32_t a, int32_t b, const QAffineF32& p) {
  const float f = float(a - int32_t(p.za)) * p.ma + float(b - int32_t(p.zb)) * p.mb;
  return int32_t(q_clamp_round(f, p.lo, p.hi)) + int32_t(p.zy);
}
// QMul, fp32 scheme: roundeven(clamp(float((a - za) * (b - zb)) * ma, lo, hi)) + zy.
inline int32_t q_mul_fp32_one(int32_t a, int32_t b, const QAffineF32& p) {
  const float f = float((a - int32_t(p.za)) * (b - int32_t(p.zb))) * p.ma;
  return int32_t(q_clamp_round(f, p.lo, p.hi)) + int32_t(p.zy);
}
// Requantize, fp32 scheme: roundeven(clamp(float(x - za) * ma, lo, hi)) + zy (p.zb, p.mb unused).
inline int32_t q_requant_fp32_one(int32_t x, const QAffineF32& p) {
  return int32_t(q_clamp_round(float(x - int32_t(p.za)) * p.ma, p.lo, p.hi)) + int32_t(p.zy);
}
// Accumulator requantization, fp32 scheme: roundeven(clamp(float(acc) * m, lo, hi)) + zy
// (kernels::requantize_one's kFp32 branch).
inline int32_t q_acc_fp32_one(int32_t acc, float m, float lo, float hi, float zy) {
  return int32_t(q_clamp_round(float(acc) * m, lo, hi)) + int32_t(zy);
}

// ONNX Runtime's QLinearAdd / QLinearMul (MLAS; verified against onnxruntime-node 1.30 on x86-64,
// whose AVX2 Add kernel uses FMA and whose Mul kernel is SSE2, without FMA):
//   QAdd: ma = sa / sy, mb = sb / sy, fixed = float(zy) - fma(mb, float(zb), ma * float(za));
//         both inputs vary:     r = fma(float(a), ma, fma(float(b), mb, fixed))
//         a one value (a run):  r = fma(float(b), mb, fma(float(a), ma, fixed))
//         b one value (a run):  r = fma(float(a), ma, fma(float(b), mb, fixed))
//   QMul: m = (sa * sb) / sy;  r = float((a - za) * (b - zb)) * m + float(zy)
//   y = clamp(roundeven(r), lo, hi)   (lo, hi: the output code range itself, zy included)
// The zero point is added before the rounding (ties round to even on the code, not on the
// offset from zy). `fixed` holds zy for QMul.
struct QMlasF32 {
  float ma = 0, mb = 0, fixed = 0, lo = 0, hi = 0;
};
inline int32_t q_mlas_finish(float r, const QMlasF32& p) {
  r = round_half_even(r);
  return int32_t(r < p.lo ? p.lo : r > p.hi ? p.hi : r);
}
inline int32_t q_add_mlas_one(int32_t a, bool a_bcast, int32_t b, bool b_bcast, const QMlasF32& p) {
  const float fa = float(a), fb = float(b);
  if (a_bcast) return q_mlas_finish(std::fma(fb, p.mb, std::fma(fa, p.ma, p.fixed)), p);
  if (b_bcast) return q_mlas_finish(std::fma(fa, p.ma, std::fma(fb, p.mb, p.fixed)), p);
  return q_mlas_finish(std::fma(fa, p.ma, std::fma(fb, p.mb, p.fixed)), p);
}
inline int32_t q_mul_mlas_one(int32_t a, int32_t za, int32_t b, int32_t zb, const QMlasF32& p) {
  return q_mlas_finish(float((a - za) * (b - zb)) * p.ma + p.fixed, p);
}

// Codes are QCode::kU8 or QCode::kI8. An input with `*_bcast` set is one value repeated
// (read at index 0); otherwise n contiguous values.
void q_add_fp32(const void* a, QCode ta, bool a_bcast, const void* b, QCode tb, bool b_bcast,
                void* y, QCode ty, size_t n, const QAffineF32& p);
void q_mul_fp32(const void* a, QCode ta, bool a_bcast, const void* b, QCode tb, bool b_bcast,
                void* y, QCode ty, size_t n, const QAffineF32& p);
void q_add_mlas(const void* a, QCode ta, bool a_bcast, const void* b, QCode tb, bool b_bcast,
                void* y, QCode ty, size_t n, const QMlasF32& p);
void q_mul_mlas(const void* a, QCode ta, int32_t za, bool a_bcast, const void* b, QCode tb,
                int32_t zb, bool b_bcast, void* y, QCode ty, size_t n, const QMlasF32& p);
void q_requant_fp32(const void* x, QCode tx, void* y, QCode ty, size_t n, const QAffineF32& p);
void q_acc_fp32(const int32_t* acc, void* y, QCode ty, size_t n, float m, float lo, float hi,
                float zy);

}  // namespace octet::simd
