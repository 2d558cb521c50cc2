// Vectorized f32 math for the pointwise kernels, compiled once per Highway target.
// Include inside a file that includes "hwy/foreach_target.h" (re-included per target).
// Builds on hwy/contrib/math (Exp, Log, Log1p, Expm1, Tanh) and adds what it lacks or
// leaves undefined: full-range Exp/Log (overflow to inf, log of 0 / negatives / inf),
// Erf, Sigmoid, Softplus and both Gelu forms.
#if defined(OCTET_SIMD_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef OCTET_SIMD_MATH_INL_H_
#undef OCTET_SIMD_MATH_INL_H_
#else
#define OCTET_SIMD_MATH_INL_H_
#endif

#include <limits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// e^x for every float: hwy's Exp is defined up to x = 88; above that we compute
// e^min(x-88, 1) * e^88, which rounds to inf where the true value overflows (e^89 > FLT_MAX).
// NaN stays NaN.
template <class D, class V>
HWY_INLINE V ExpF(D d, V x) {
  const V k88 = hn::Set(d, 88.0f);
  const V kExp88 = hn::Set(d, 1.6516362549940018e38f);
  const auto big = hn::Gt(x, k88);
  V y = hn::Exp(d, hn::IfThenElse(big, hn::Min(hn::Sub(x, k88), hn::Set(d, 1.0f)), x));
  y = hn::IfThenElse(big, hn::Mul(y, kExp88), y);
  return hn::IfThenElse(hn::Eq(x, x), y, x);
}

// log(x): -inf at 0, NaN below 0, inf at inf, NaN for NaN.
template <class D, class V>
HWY_INLINE V LogF(D d, V x) {
  const V kZero = hn::Zero(d);
  const V kInf = hn::Set(d, std::numeric_limits<float>::infinity());
  const V kNaN = hn::Set(d, std::numeric_limits<float>::quiet_NaN());
  const auto ok = hn::And(hn::Gt(x, kZero), hn::Lt(x, kInf));
  V y = hn::Log(d, hn::IfThenElse(ok, x, hn::Set(d, 1.0f)));
  y = hn::IfThenElse(hn::Eq(x, kZero), hn::Neg(kInf), y);
  y = hn::IfThenElse(hn::Eq(x, kInf), kInf, y);
  // x < 0 or NaN: NaN (the comparisons above are false for NaN).
  return hn::IfThenElse(hn::Or(ok, hn::Or(hn::Eq(x, kZero), hn::Eq(x, kInf))), y, kNaN);
}

// erf(x) for |x| < 0.6 from its Maclaurin series (odd terms up to x^15), accurate to
// ~1 ulp there.
template <class D, class V>
HWY_INLINE V ErfSmall(D d, V x) {
  const V x2 = hn::Mul(x, x);
  V p = hn::Set(d, -1.0f / 75600.0f);
  p = hn::MulAdd(p, x2, hn::Set(d, 1.0f / 9360.0f));
  p = hn::MulAdd(p, x2, hn::Set(d, -1.0f / 1320.0f));
  p = hn::MulAdd(p, x2, hn::Set(d, 1.0f / 216.0f));
  p = hn::MulAdd(p, x2, hn::Set(d, -1.0f / 42.0f));
  p = hn::MulAdd(p, x2, hn::Set(d, 1.0f / 10.0f));
  p = hn::MulAdd(p, x2, hn::Set(d, -1.0f / 3.0f));
  p = hn::MulAdd(p, x2, hn::Set(d, 1.0f));
  return hn::Mul(hn::Mul(p, x), hn::Set(d, 1.1283791670955126f));  // 2/sqrt(pi)
}

// erfc(z) for z >= 0 with relative error ~1.2e-7 (Chebyshev fit
// t * exp(-z^2 + P(t)), t = 1 / (1 + z/2), Numerical Recipes' erfcc formula).
template <class D, class V>
HWY_INLINE V ErfcPos(D d, V z) {
  z = hn::Min(z, hn::Set(d, 10.0f));  // erfc(10) underflows float anyway
  const V t = hn::Div(hn::Set(d, 1.0f), hn::MulAdd(z, hn::Set(d, 0.5f), hn::Set(d, 1.0f)));
  V p = hn::Set(d, 0.17087277f);
  p = hn::MulAdd(p, t, hn::Set(d, -0.82215223f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.48851587f));
  p = hn::MulAdd(p, t, hn::Set(d, -1.13520398f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.27886807f));
  p = hn::MulAdd(p, t, hn::Set(d, -0.18628806f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.09678418f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.37409196f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.00002368f));
  p = hn::MulAdd(p, t, hn::Set(d, -1.26551223f));
  const V arg = hn::Sub(p, hn::Mul(z, z));
  return hn::Mul(t, hn::Exp(d, arg));
}

template <class D, class V>
HWY_INLINE V ErfF(D d, V x) {
  const V ax = hn::Abs(x);
  const auto small = hn::Lt(ax, hn::Set(d, 0.6f));
  const V large = hn::CopySign(hn::Sub(hn::Set(d, 1.0f), ErfcPos(d, ax)), x);
  V y = hn::IfThenElse(small, ErfSmall(d, x), large);
  return hn::IfThenElse(hn::Eq(x, x), y, x);
}

// 1 + erf(z), keeping relative precision for negative z (erfc of |z|).
template <class D, class V>
HWY_INLINE V OnePlusErf(D d, V z) {
  const V one = hn::Set(d, 1.0f);
  const V az = hn::Abs(z);
  const V c = ErfcPos(d, az);
  const V large = hn::IfThenElse(hn::Lt(z, hn::Zero(d)), c, hn::Sub(hn::Set(d, 2.0f), c));
  return hn::IfThenElse(hn::Lt(az, hn::Set(d, 0.6f)), hn::Add(one, ErfSmall(d, z)), large);
}

template <class D, class V>
HWY_INLINE V SigmoidF(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  return hn::Div(one, hn::Add(one, ExpF(d, hn::Neg(x))));
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|), without overflow.
template <class D, class V>
HWY_INLINE V SoftplusF(D d, V x) {
  const V y = hn::Add(hn::Max(x, hn::Zero(d)), hn::Log1p(d, hn::Exp(d, hn::Neg(hn::Abs(x)))));
  return hn::IfThenElse(hn::Eq(x, x), y, x);
}

// x/2 * (1 + erf(x / sqrt(2)))
template <class D, class V>
HWY_INLINE V GeluF(D d, V x) {
  const V z = hn::Mul(x, hn::Set(d, 0.70710678118654752f));
  return hn::Mul(hn::Mul(x, hn::Set(d, 0.5f)), OnePlusErf(d, z));
}

// x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
template <class D, class V>
HWY_INLINE V GeluTanhF(D d, V x) {
  const V x3 = hn::Mul(hn::Mul(x, x), x);
  const V inner =
      hn::Mul(hn::Set(d, 0.7978845608028654f), hn::MulAdd(x3, hn::Set(d, 0.044715f), x));
  const V t = hn::Tanh(d, inner);
  return hn::Mul(hn::Mul(x, hn::Set(d, 0.5f)), hn::Add(hn::Set(d, 1.0f), t));
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#endif  // include guard
