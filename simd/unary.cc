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
  switch (static_cast<UnaryOp>(op_int)) {
    case UnaryOp::kRelu:
      return Map(x, y, n, [&](D, V v) { return hn::Max(v, zero); });
    case UnaryOp::kLeakyRelu:
      return Map(x, y, n, [&](D, V v) {
        return hn::IfThenElse(hn::Lt(v, zero), hn::Mul(v, a), v);
      });
    case UnaryOp::kThresholdedRelu:
      return Map(x, y, n, [&](D, V v) { return hn::IfThenElseZero(hn::Gt(v, a), v); });
    case UnaryOp::kClip:
      return Map(x, y, n, [&](D, V v) { return hn::Min(hn::Max(v, a), b); });
    case UnaryOp::kHardSigmoid:
      return Map(x, y, n, [&](D, V v) { return hn::Min(hn::Max(hn::MulAdd(v, a, b), zero), one); });
    case UnaryOp::kHardSwish: {
      const V sixth = hn::Set(d, 1.0f / 6.0f), half = hn::Set(d, 0.5f);
      return Map(x, y, n, [&](D, V v) {
        return hn::Mul(v, hn::Min(hn::Max(hn::MulAdd(v, sixth, half), zero), one));
      });
    }
    case UnaryOp::kSigmoid:
      return Map(x, y, n, [&](D dd, V v) { return SigmoidF(dd, v); });
    case UnaryOp::kTanh:
      return Map(x, y, n, [&](D dd, V v) { return hn::Tanh(dd, v); });
    case UnaryOp::kErf:
      return Map(x, y, n, [&](D dd, V v) { return ErfF(dd, v); });
    case UnaryOp::kExp:
      return Map(x, y, n, [&](D dd, V v) { return ExpF(dd, v); });
    case UnaryOp::kLog:
      return Map(x, y, n, [&](D dd, V v) { return LogF(dd, v); });
    case UnaryOp::kSqrt:
      return Map(x, y, n, [&](D, V v) { return hn::Sqrt(v); });
    case UnaryOp::kNeg:
      return Map(x, y, n, [&](D, V v) { return hn::Neg(v); });
    case UnaryOp::kAbs:
      return Map(x, y, n, [&](D, V v) { return hn::Abs(v); });
    case UnaryOp::kReciprocal:
      return Map(x, y, n, [&](D, V v) { return hn::Div(one, v); });
    case UnaryOp::kFloor:
      return Map(x, y, n, [&](D, V v) { return hn::Floor(v); });
    case UnaryOp::kCeil:
      return Map(x, y, n, [&](D, V v) { return hn::Ceil(v); });
    case UnaryOp::kRound:
      return Map(x, y, n, [&](D, V v) { return hn::Round(v); });
    case UnaryOp::kSign:
      return Map(x, y, n, [&](D, V v) {
        V s = hn::IfThenElse(hn::Gt(v, zero), one, zero);
        s = hn::IfThenElse(hn::Lt(v, zero), hn::Neg(one), s);
        return hn::IfThenElse(hn::Eq(v, v), s, v);
      });
    case UnaryOp::kSoftplus:
      return Map(x, y, n, [&](D dd, V v) { return SoftplusF(dd, v); });
    case UnaryOp::kSoftsign:
      return Map(x, y, n, [&](D, V v) { return hn::Div(v, hn::Add(one, hn::Abs(v))); });
    case UnaryOp::kElu:
      return Map(x, y, n, [&](D dd, V v) {
        const V e = hn::Mul(a, hn::Expm1(dd, hn::Min(v, zero)));
        return hn::IfThenElse(hn::Lt(v, zero), e, v);
      });
    case UnaryOp::kSelu:
      return Map(x, y, n, [&](D dd, V v) {
        const V e = hn::Mul(a, hn::Expm1(dd, hn::Min(v, zero)));
        return hn::Mul(b, hn::IfThenElse(hn::Gt(v, zero), v, e));
      });
    case UnaryOp::kGelu:
      return Map(x, y, n, [&](D dd, V v) { return GeluF(dd, v); });
    case UnaryOp::kGeluTanh:
      return Map(x, y, n, [&](D dd, V v) { return GeluTanhF(dd, v); });
    case UnaryOp::kMish:
      return Map(x, y, n, [&](D dd, V v) { return hn::Mul(v, hn::Tanh(dd, SoftplusF(dd, v))); });
    case UnaryOp::kNot:
      return;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(UnaryF32Impl);

void unary_f32(UnaryOp op, const float* x, float* y, size_t n, float alpha, float beta) {
  HWY_DYNAMIC_DISPATCH(UnaryF32Impl)(static_cast<int>(op), x, y, n, alpha, beta);
}
}  // namespace octet::simd
#endif
