// Requantization: an int32 accumulator (sum of integer products, plus an int32 bias) turned into
// an output code. The arithmetic of each scheme is spelled out here once; every integer kernel
// and the `exact` simulation call these functions (or SIMD code tested equal to them), which is
// what makes the two modes agree bit for bit. Each scheme reproduces one runtime's arithmetic,
// its order of operations and roundings included (see RequantScheme).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/dtype.h"
#include "simd/round_half_even.h"

namespace octet::kernels {

// The formulas of the ops outside GEMM / convolution (Add, Mul, global average pooling):
// kRequantization: those of the requantization scheme; kMlas: ONNX Runtime's (MLAS) own.
enum class OpArithmetic : uint8_t { kRequantization, kMlas };

enum class RequantScheme : uint8_t {
  // XNNPACK / ONNX Runtime / oneDNN (VNNI): float(acc) * m (one fp32 multiply, no FMA), clamp
  // to [qmin - zp, qmax - zp] in float, round half to even, + zp.
  kFp32 = 0,
  // TFLite reference: Q0.31 multiplier + shift from double scales,
  // SaturatingRoundingDoublingHighMul then RoundingDivideByPOT (two roundings), + zp, clamp.
  kFixedPoint = 1,
  // TFLite with TFLITE_SINGLE_ROUNDING: (int64(acc) * m0 + 2^(t-1)) >> t, t = 31 - shift.
  kFixedPointSingle = 2,
};
RequantScheme parse_requant_scheme(std::string_view name);  // "fp32", "fixed-point", "fixed-point-single"
std::string_view requant_scheme_name(RequantScheme s);

// One output channel's multiplier in each representation (only the scheme's own is used).
struct ChannelMultiplier {
  float multiplier = 0.f;  // kFp32
  int32_t m0 = 0;          // fixed point: Q0.31 in [2^30, 2^31 - 1], or 0
  int32_t shift = 0;       // fixed point: left shift if > 0, right shift if < 0
};

// The multiplier for real_scale = input_scale * weight_scale / output_scale, computed the way
// the scheme's runtime does: kFp32 in float, (input_scale * weight_scale) / output_scale;
// fixed point from the same float scales widened to double. Throws on non-finite or
// non-positive scales, or a real scale outside [2^-32, 256).
ChannelMultiplier make_multiplier(RequantScheme scheme, float input_scale, float weight_scale,
                                  float output_scale);
// The same from an already divided real scale (e.g. in_scale / out_scale of a pooling op):
// kFp32 uses float(real_scale); fixed point uses the double.
ChannelMultiplier make_multiplier_from_real(RequantScheme scheme, double real_scale);

// TFLite's QuantizeMultiplier: real = m0 * 2^(shift - 31), m0 rounded half away from zero.
void quantize_multiplier(double real, int32_t* m0, int32_t* shift);

// gemmlowp's fixed-point primitives, exact integer definitions (TFLite's default, double-rounding
// path): the first rounds ties up (toward +inf), the second rounds ties away from zero.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = int64_t(a) * int64_t(b);
  const int64_t nudge = ab >= 0 ? (int64_t(1) << 30) : (1 - (int64_t(1) << 30));
  return int32_t((ab + nudge) / (int64_t(1) << 31));  // C division truncates toward zero
}
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = int32_t((int64_t(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// acc * multiplier in the scheme's arithmetic, rounded to an integer (no zero point, no clamp).
// For kFp32 the float result is returned already rounded half to even but unclamped, saturated
// to the int32 range.
int32_t scale_accumulator(RequantScheme scheme, int32_t acc, const ChannelMultiplier& m);

// The whole epilogue for one value: scale, + zero point, clamp to [qmin, qmax].
// The fp32 scheme's tail: f (the accumulator times the multiplier) clamped before rounding, as
// XNNPACK does (|f| stays small, and the order is the target's), rounded half to even, + zp.
inline int32_t requantize_fp32_tail(float f, int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float lo = float(qmin - zero_point), hi = float(qmax - zero_point);
  f = f < lo ? lo : f;
  f = f > hi ? hi : f;
  return int32_t(simd::round_half_even(f)) + zero_point;
}
// The fixed-point schemes' tail: the scaled accumulator + zp, clamped.
inline int32_t requantize_fixed_tail(int32_t scaled, int32_t zero_point, int32_t qmin,
                                     int32_t qmax) {
  const int64_t v = int64_t(scaled) + zero_point;
  return int32_t(v < qmin ? qmin : v > qmax ? qmax : v);
}

inline int32_t requantize_one(RequantScheme scheme, int32_t acc, const ChannelMultiplier& m,
                              int32_t zero_point, int32_t qmin, int32_t qmax) {
  if (scheme == RequantScheme::kFp32)
    return requantize_fp32_tail(float(acc) * m.multiplier, zero_point, qmin, qmax);
  return requantize_fixed_tail(scale_accumulator(scheme, acc, m), zero_point, qmin, qmax);
}

// ---- Wide accumulators (16-bit activations, W8A16) -------------------------------------------
// An op with 16-bit activation codes accumulates sum (x - zp) * w exactly in int64 (plus an
// int64 bias), as TFLite's 16x8 kernels do. Its requantization is defined here once:
//   kFp32:   f = float(acc) (int64 -> fp32, round half to even, as cvtsi2ss) * multiplier
//            (one fp32 multiply), then exactly requantize_one's clamp in float, round half to
//            even, + zp. For |acc| < 2^24 this equals the int32 definition.
//   kFixedPoint, kFixedPointSingle: TFLite's int64 MultiplyByQuantizedMultiplier overload
//            (used by both TFLite builds for 16x8): the Q0.31 multiplier reduced to 16 bits,
//            m16 = m0 < 0x7FFF0000 ? (m0 + 2^15) >> 16 : 0x7FFF, then
//            v = (acc * m16 + 2^(t-1)) >> t with t = 15 - shift (floor shift: ties round up),
//            the product taken in 128 bits (never overflows), v saturated to int32; + zp, clamp.
int32_t scale_accumulator64(RequantScheme scheme, int64_t acc, const ChannelMultiplier& m);
inline int32_t requantize_one64(RequantScheme scheme, int64_t acc, const ChannelMultiplier& m,
                                int32_t zero_point, int32_t qmin, int32_t qmax) {
  if (scheme == RequantScheme::kFp32)
    return requantize_fp32_tail(float(acc) * m.multiplier, zero_point, qmin, qmax);
  return requantize_fixed_tail(scale_accumulator64(scheme, acc, m), zero_point, qmin, qmax);
}

// Per-channel (or per-tensor: one multiplier) requantization parameters of an op's output.
struct Requantizer {
  RequantScheme scheme = RequantScheme::kFp32;
  std::vector<ChannelMultiplier> multipliers;  // 1 (per tensor) or one per output channel
  int32_t zero_point = 0;
  int32_t qmin = 0, qmax = 255;  // output code range, including a fused activation's clamp

  const ChannelMultiplier& channel(int64_t c) const {
    return multipliers.size() == 1 ? multipliers[0] : multipliers[size_t(c)];
  }
};

// acc + bias with two's complement wrap-around (what the integer hardware does; never UB).
inline int32_t wrapping_add(int32_t a, int32_t b) {
  return int32_t(uint32_t(a) + uint32_t(b));
}

// Reference epilogue over one row of n channels starting at channel c0: out[j] =
// requantize(acc[j] + (bias ? bias[c0 + j] : 0)) with channel c0 + j's multiplier.
// `out_type` is kU8, kI8, kU16 or kI16; rq.qmin/qmax must lie inside its range.
void requantize_row_reference(const int32_t* acc, const int32_t* bias, int64_t n, int64_t c0,
                              const Requantizer& rq, void* out, DType out_type);
// The same for int64 accumulators and an int64 bias (requantize_one64).
void requantize_row64_reference(const int64_t* acc, const int64_t* bias, int64_t n, int64_t c0,
                                const Requantizer& rq, void* out, DType out_type);
// Stores code q (inside out_type's range) as element j of a kU8 / kI8 / kU16 / kI16 array.
void store_code_any(void* out, DType out_type, int64_t j, int32_t q);

}  // namespace octet::kernels
