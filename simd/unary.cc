// Highway implementations of the f32 pointwise functions of simd/unary.h.
#include "simd/unary.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/unary.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "simd/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Applies `f` to full vectors, then to the tail through a padded stack buffer.
template <class F>
HWY_INLINE void Map(const float* x, float* y, size_t n, const F& f) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(d, hn::LoadU(d, x + i)), d, y + i);
  if (i < n) {
    HWY_ALIGN float buf[256 / sizeof(float)] = {};
    const size_t rest = n - i;
    for (size_t k = 0; k < rest; ++k) buf[k] = x[i + k];
    hn::Store(f(d, hn::Load(d, buf)), d, buf);
    for (size_t k = 0; k < rest; ++k) y[i + k] = buf[k];
  }
}

void UnaryF32Impl(int op_int, const float* x, float* y, size_t n, float alpha, float beta) {
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;
  const D d;
  const V a = hn::Set(d, alpha), b = hn::Set(d, beta), zero = hn::Zero(d), one = hn::Set(d, 1.f);
  switch (static_cast<UnaryF32>(op_int)) {
    case UnaryF32::kRelu:
      return Map(x, y, n, [&](D, V v) { return hn::Max(v, zero); });
    case UnaryF32::kLeakyRelu:
      return Map(x, y, n, [&](D, V v) {
        return hn::IfThenElse(hn::Lt(v, zero), hn::Mul(v, a), v);
      });
    case UnaryF32::kThresholdedRelu:
      return Map(x, y, n, [&](D, V v) { return hn::IfThenElseZero(hn::Gt(v, a), v); });
    case UnaryF32::kClip:
      return Map(x, y, n, [&](D, V v) { return hn::Min(hn::Max(v, a), b); });
    case UnaryF32::kHardSigmoid:
      return Map(x, y, n, [&](D, V v) { return hn::Min(hn::Max(hn::MulAdd(v, a, b), zero), one); });
    case UnaryF32::kHardSwish: {
      const V sixth = hn::Set(d, 1.0f / 6.0f), half = hn::Set(d, 0.5f);
      return Map(x, y, n, [&](D, V v) {
        return hn::Mul(v, hn::Min(hn::Max(hn::MulAdd(v, sixth, half), zero), one));
      });
    }
    case UnaryF32::kSigmoid:
      return Map(x, y, n, [&](D dd, V v) { return SigmoidF(dd, v); });
    case UnaryF32::kTanh:
      return Map(x, y, n, [&](D dd, V v) { return hn::Tanh(dd, v); });
    case UnaryF32::kErf:
      return Map(x, y, n, [&](D dd, V v) { return ErfF(dd, v); });
    case UnaryF32::kExp:
      return Map(x, y, n, [&](D dd, V v) { return ExpF(dd, v); });
    case UnaryF32::kLog:
      return Map(x, y, n, [&](D dd, V v) { return LogF(dd, v); });
    case UnaryF32::kSqrt:
      return Map(x, y, n, [&](D, V v) { return hn::Sqrt(v); });
    case UnaryF32::kNeg:
      return Map(x, y, n, [&](D, V v) { return hn::Neg(v); });
    case UnaryF32::kAbs:
      return Map(x, y, n, [&](D, V v) { return hn::Abs(v); });
    case UnaryF32::kReciprocal:
      return Map(x, y, n, [&](D, V v) { return hn::Div(one, v); });
    case UnaryF32::kFloor:
      return Map(x, y, n, [&](D, V v) { return hn::Floor(v); });
    case UnaryF32::kCeil:
      return Map(x, y, n, [&](D, V v) { return hn::Ceil(v); });
    case UnaryF32::kRound:
      return Map(x, y, n, [&](D, V v) { return hn::Round(v); });
    case UnaryF32::kSign:
      return Map(x, y, n, [&](D, V v) {
        V s = hn::IfThenElse(hn::Gt(v, zero), one, zero);
        s = hn::IfThenElse(hn::Lt(v, zero), hn::Neg(one), s);
        return hn::IfThenElse(hn::Eq(v, v), s, v);
      });
    case UnaryF32::kSoftplus:
      return Map(x, y, n, [&](D dd, V v) { return SoftplusF(dd, v); });
    case UnaryF32::kSoftsign:
      return Map(x, y, n, [&](D, V v) { return hn::Div(v, hn::Add(one, hn::Abs(v))); });
    case UnaryF32::kElu:
      return Map(x, y, n, [&](D dd, V v) {
        const V e = hn::Mul(a, hn::Expm1(dd, hn::Min(v, zero)));
        return hn::IfThenElse(hn::Lt(v, zero), e, v);
      });
    case UnaryF32::kSelu:
      return Map(x, y, n, [&](D dd, V v) {
        const V e = hn::Mul(a, hn::Expm1(dd, hn::Min(v, zero)));
        return hn::Mul(b, hn::IfThenElse(hn::Gt(v, zero), v, e));
      });
    case UnaryF32::kGelu:
      return Map(x, y, n, [&](D dd, V v) { return GeluF(dd, v); });
    case UnaryF32::kGeluTanh:
      return Map(x, y, n, [&](D dd, V v) { return GeluTanhF(dd, v); });
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(UnaryF32Impl);

void unary_f32(UnaryF32 op, const float* x, float* y, size_t n, float alpha, float beta) {
  HWY_DYNAMIC_DISPATCH(UnaryF32Impl)(static_cast<int>(op), x, y, n, alpha, beta);
}
}  // namespace octet::simd
#endif
