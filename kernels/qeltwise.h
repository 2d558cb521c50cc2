// octet.QAdd and octet.QMul: 8-bit (u8 / i8) elementwise add and multiply with ONNX
// multidirectional broadcasting; each input and the output have their own per-tensor
// (scale, zero point). The exact arithmetic per requantization scheme:
//
// fp32 (XNNPACK / ONNX Runtime style; every step one fp32 operation, no FMA):
//   QAdd: f = float(a - za) * ma + float(b - zb) * mb,  ma = sa / sy, mb = sb / sy (float)
//   QMul: f = float((a - za) * (b - zb)) * m,          m = (sa * sb) / sy (float, that order)
//   y = roundeven(clamp(f, qmin - zy, qmax - zy)) + zy
//
// fixed-point / fixed-point-single (TFLite's reference integer Add / Mul,
// reference_integer_ops/add.h and mul.h, with the multipliers of kernels/add.cc / mul.cc):
//   QAdd: left_shift = 20; twice_max = 2 * max(sa, sb) (double);
//         Ma = sa / twice_max, Mb = sb / twice_max, My = twice_max / (2^20 * sy) (double),
//         each turned into (m0, shift) by QuantizeMultiplier;
//         xa = scale(((a - za) << 20), Ma), xb = scale(((b - zb) << 20), Mb),
//         y = clamp(scale(xa + xb, My) + zy, qmin, qmax)
//   QMul: M = sa * sb / sy (double); y = clamp(scale((a - za) * (b - zb), M) + zy, qmin, qmax)
//   where scale(x, M) = kernels::scale_accumulator(scheme, x, M): the gemmlowp
//   SaturatingRoundingDoublingHighMul + RoundingDivideByPOT pair (fixed-point; TFLite's
//   MultiplyByQuantizedMultiplierSmallerThanOneExp for the add terms), or the single-rounding
//   (x * m0 + 2^(t-1)) >> t (fixed-point-single, TFLITE_SINGLE_ROUNDING).
//
// mlas (OpArithmetic::kMlas, any scheme: ONNX Runtime's QLinearAdd / QLinearMul): the formulas
// of simd/q_eltwise.h's QMlasF32, which add zy before rounding and, for QAdd, fuse the multiply-adds.
// The QAdd formula depends on whether an input is one value over the innermost broadcast run
// (ORT's "input is a scalar" span), which the reference reads from the same broadcast plan.
//
// [qmin, qmax]: the output dtype's range intersected with a fused activation's range.
#pragma once
#include <cstdint>
#include <vector>

#include "base/dtype.h"
#include "kernels/requant.h"
#include "simd/q_eltwise.h"

namespace octet::kernels {

enum class QBinaryOp { kAdd, kMul };

struct QBinaryParams {
  QBinaryOp op = QBinaryOp::kAdd;
  RequantScheme scheme = RequantScheme::kFp32;
  OpArithmetic arith = OpArithmetic::kRequantization;
  DType a_type = DType::kU8, b_type = DType::kU8, y_type = DType::kU8;
  std::vector<int64_t> a_dims, b_dims, y_dims;  // y_dims: the broadcast shape
  int32_t za = 0, zb = 0, zy = 0, qmin = 0, qmax = 255;
  simd::QAffineF32 fp32;                       // kFp32
  simd::QMlasF32 mlas;                         // kMlas
  ChannelMultiplier in_a, in_b, out;           // fixed point (in_a / in_b: QAdd only)
  static constexpr int kAddLeftShift = 20;
};

// Fills the multipliers of p (op, scheme, arith, zero points and range already set) from the scales.
// Throws octet::Error when a multiplier falls outside what the scheme can represent.
void set_qbinary_scales(QBinaryParams& p, float sa, float sb, float sy);

// One element in the fixed-point schemes (a, b: codes).
inline int32_t qbinary_fixed_one(const QBinaryParams& p, int32_t a, int32_t b) {
  int32_t acc;
  if (p.op == QBinaryOp::kAdd) {
    // |a - za| <= 255, so the shifted values stay below 2^28: no overflow.
    const int32_t xa = scale_accumulator(p.scheme, (a - p.za) * (1 << QBinaryParams::kAddLeftShift), p.in_a);
    const int32_t xb = scale_accumulator(p.scheme, (b - p.zb) * (1 << QBinaryParams::kAddLeftShift), p.in_b);
    acc = scale_accumulator(p.scheme, xa + xb, p.out);
  } else {
    acc = scale_accumulator(p.scheme, (a - p.za) * (b - p.zb), p.out);
  }
  const int64_t v = int64_t(acc) + p.zy;
  return int32_t(v < p.qmin ? p.qmin : v > p.qmax ? p.qmax : v);
}

// One element; a_bcast / b_bcast: the input is one value over the innermost broadcast run
// (read by the mlas QAdd only).
inline int32_t qbinary_one(const QBinaryParams& p, int32_t a, bool a_bcast, int32_t b, bool b_bcast) {
  if (p.arith == OpArithmetic::kMlas)
    return p.op == QBinaryOp::kAdd ? simd::q_add_mlas_one(a, a_bcast, b, b_bcast, p.mlas)
                                   : simd::q_mul_mlas_one(a, p.za, b, p.zb, p.mlas);
  if (p.scheme != RequantScheme::kFp32) return qbinary_fixed_one(p, a, b);
  return p.op == QBinaryOp::kAdd ? simd::q_add_fp32_one(a, b, p.fp32)
                                 : simd::q_mul_fp32_one(a, b, p.fp32);
}

// Plain per-element loop over the output with broadcast index arithmetic.
void qbinary_reference(const QBinaryParams& p, const void* a, const void* b, void* y);
// All 256 x 256 results of a fixed-point scheme, [(a - a_min) * 256 + (b - b_min)] (output
// bytes), computed with qbinary_fixed_one: the optimized kernel's lookup table for large inputs.
std::vector<uint8_t> qbinary_table(const QBinaryParams& p);
// Broadcast runs split over OpenMP threads; mlas and fp32 run through simd::q_add_* / q_mul_*,
// fixed point through `table` when given (from qbinary_table(p)), else qbinary_fixed_one.
void qbinary(const QBinaryParams& p, const std::vector<uint8_t>& table, const void* a,
             const void* b, void* y, int threads);

}  // namespace octet::kernels
