#include "kernels/requant.h"

#include <cmath>

#include "base/error.h"
#include "simd/round_half_even.h"

namespace octet::kernels {

RequantScheme parse_requant_scheme(std::string_view name) {
  if (name == "fp32") return RequantScheme::kFp32;
  if (name == "fixed-point") return RequantScheme::kFixedPoint;
  if (name == "fixed-point-single") return RequantScheme::kFixedPointSingle;
  fail("unknown requantization scheme '", name, "' (fp32, fixed-point, fixed-point-single)");
}

std::string_view requant_scheme_name(RequantScheme s) {
  switch (s) {
    case RequantScheme::kFp32: return "fp32";
    case RequantScheme::kFixedPoint: return "fixed-point";
    case RequantScheme::kFixedPointSingle: return "fixed-point-single";
  }
  return "?";
}

void quantize_multiplier(double real, int32_t* m0, int32_t* shift) {
  if (real == 0.0) {
    *m0 = 0;
    *shift = 0;
    return;
  }
  int exp = 0;
  const double q = std::frexp(real, &exp);  // q in [0.5, 1)
  int64_t q_fixed = int64_t(std::round(q * double(int64_t(1) << 31)));
  if (q_fixed == (int64_t(1) << 31)) {
    q_fixed /= 2;
    ++exp;
  }
  if (exp < -31) {
    q_fixed = 0;
    exp = 0;
  }
  *m0 = int32_t(q_fixed);
  *shift = exp;
}

static void check_real_scale(double real) {
  OCTET_CHECK(std::isfinite(real) && real >= std::ldexp(1.0, -32) && real < 256.0,
              "requantization scale ", real, " is outside [2^-32, 256)");
}

ChannelMultiplier make_multiplier_from_real(RequantScheme scheme, double real) {
  check_real_scale(real);
  ChannelMultiplier m;
  m.multiplier = float(real);
  quantize_multiplier(real, &m.m0, &m.shift);
  if (scheme == RequantScheme::kFixedPointSingle && m.shift > 30) {
    m.m0 = INT32_MAX;
    m.shift = 30;
  }
  return m;
}

ChannelMultiplier make_multiplier(RequantScheme scheme, float input_scale, float weight_scale,
                                  float output_scale) {
  for (float s : {input_scale, weight_scale, output_scale})
    OCTET_CHECK(std::isfinite(s) && s > 0.f, "requantization needs finite positive scales, got ",
                input_scale, ", ", weight_scale, ", ", output_scale);
  if (scheme == RequantScheme::kFp32) {
    const float product = input_scale * weight_scale;  // float, in the target's order
    const float real = product / output_scale;
    check_real_scale(real);
    ChannelMultiplier m = make_multiplier_from_real(scheme, double(real));
    m.multiplier = real;
    return m;
  }
  return make_multiplier_from_real(
      scheme, double(input_scale) * double(weight_scale) / double(output_scale));
}

int32_t scale_accumulator(RequantScheme scheme, int32_t acc, const ChannelMultiplier& m) {
  switch (scheme) {
    case RequantScheme::kFp32: {
      const float f = float(acc) * m.multiplier;
      if (!(f > -2147483648.f)) return INT32_MIN;
      if (!(f < 2147483648.f)) return INT32_MAX;
      return int32_t(simd::round_half_even(f));
    }
    case RequantScheme::kFixedPoint: {
      const int left = m.shift > 0 ? m.shift : 0;
      const int right = m.shift > 0 ? 0 : -m.shift;
      // TFLite multiplies without saturation here (UB on overflow); wrap instead.
      const int32_t shifted = int32_t(uint32_t(acc) << left);
      return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m.m0), right);
    }
    case RequantScheme::kFixedPointSingle: {
      const int total = 31 - m.shift;
      const int64_t round = int64_t(1) << (total - 1);
      const int64_t v = (int64_t(acc) * m.m0 + round) >> total;
      return int32_t(v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : v);
    }
  }
  return 0;
}

int32_t scale_accumulator64(RequantScheme scheme, int64_t acc, const ChannelMultiplier& m) {
  if (scheme == RequantScheme::kFp32) {
    const float f = float(acc) * m.multiplier;
    if (!(f > -2147483648.f)) return INT32_MIN;
    if (!(f < 2147483648.f)) return INT32_MAX;
    return int32_t(simd::round_half_even(f));
  }
  const int32_t m16 = m.m0 < 0x7FFF0000 ? int32_t((int64_t(m.m0) + (1 << 15)) >> 16) : 0x7FFF;
  const int total = 15 - m.shift;  // shift <= 8 (scales < 256): total >= 7
  __int128 v = __int128(acc) * m16;
  if (total > 0) v = (v + (__int128(1) << (total - 1))) >> total;
  else v = v << -total;
  return int32_t(v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : v);
}

void store_code_any(void* out, DType out_type, int64_t j, int32_t q) {
  switch (out_type) {
    case DType::kU8: static_cast<uint8_t*>(out)[j] = uint8_t(q); break;
    case DType::kI8: static_cast<int8_t*>(out)[j] = int8_t(q); break;
    case DType::kU16: static_cast<uint16_t*>(out)[j] = uint16_t(q); break;
    case DType::kI16: static_cast<int16_t*>(out)[j] = int16_t(q); break;
    default: fail("requantize: unsupported output type ", dtype_name(out_type));
  }
}

void requantize_row64_reference(const int64_t* acc, const int64_t* bias, int64_t n, int64_t c0,
                                const Requantizer& rq, void* out, DType out_type) {
  for (int64_t j = 0; j < n; ++j) {
    const int64_t a = bias ? int64_t(uint64_t(acc[j]) + uint64_t(bias[c0 + j])) : acc[j];
    store_code_any(out, out_type, j,
                   requantize_one64(rq.scheme, a, rq.channel(c0 + j), rq.zero_point, rq.qmin,
                                    rq.qmax));
  }
}

void requantize_row_reference(const int32_t* acc, const int32_t* bias, int64_t n, int64_t c0,
                              const Requantizer& rq, void* out, DType out_type) {
  for (int64_t j = 0; j < n; ++j) {
    const int32_t a = bias ? wrapping_add(acc[j], bias[c0 + j]) : acc[j];
    const int32_t q = requantize_one(rq.scheme, a, rq.channel(c0 + j), rq.zero_point, rq.qmin,
                                     rq.qmax);
    switch (out_type) {
      case DType::kU8: static_cast<uint8_t*>(out)[j] = uint8_t(q); break;
      case DType::kI8: static_cast<int8_t*>(out)[j] = int8_t(q); break;
      case DType::kU16: static_cast<uint16_t*>(out)[j] = uint16_t(q); break;
      case DType::kI16: static_cast<int16_t*>(out)[j] = int16_t(q); break;
      default: fail("requantize: unsupported output type ", dtype_name(out_type));
    }
  }
}

}  // namespace octet::kernels
