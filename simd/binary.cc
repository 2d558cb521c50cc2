// Highway implementations of simd/binary.h.
#include "simd/binary.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/binary.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One run; SA/SB: whether a/b are a single broadcast value. The tail is finished in scalar
// code with the same operation applied to one lane, so results match the vector part.
template <bool SA, bool SB, class F>
HWY_INLINE void Run(const float* a, const float* b, float* out, size_t n, const F& f) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto va0 = hn::Set(d, a[0]);
  const auto vb0 = hn::Set(d, b[0]);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto va = SA ? va0 : hn::LoadU(d, a + i);
    const auto vb = SB ? vb0 : hn::LoadU(d, b + i);
    hn::StoreU(f(va, vb), d, out + i);
  }
  if (i < n) {
    const hn::CappedTag<float, 1> d1;
    for (; i < n; ++i) {
      const auto va = hn::Set(d1, SA ? a[0] : a[i]);
      const auto vb = hn::Set(d1, SB ? b[0] : b[i]);
      out[i] = hn::GetLane(f(va, vb));
    }
  }
}

template <class F>
HWY_INLINE void Dispatch(const float* a, bool sa, const float* b, bool sb, float* out, size_t n,
                         const F& f) {
  if (!sa && !sb) return Run<false, false>(a, b, out, n, f);
  if (sa && !sb) return Run<true, false>(a, b, out, n, f);
  if (!sa && sb) return Run<false, true>(a, b, out, n, f);
  return Run<true, true>(a, b, out, n, f);
}

void BinaryF32Impl(int op, const float* a, bool sa, const float* b, bool sb, float* out,
                   size_t n) {
  switch (static_cast<BinaryF32>(op)) {
    case BinaryF32::kAdd:
      return Dispatch(a, sa, b, sb, out, n, [](auto x, auto y) { return hn::Add(x, y); });
    case BinaryF32::kSub:
      return Dispatch(a, sa, b, sb, out, n, [](auto x, auto y) { return hn::Sub(x, y); });
    case BinaryF32::kMul:
      return Dispatch(a, sa, b, sb, out, n, [](auto x, auto y) { return hn::Mul(x, y); });
    case BinaryF32::kDiv:
      return Dispatch(a, sa, b, sb, out, n, [](auto x, auto y) { return hn::Div(x, y); });
    case BinaryF32::kMax:
      return Dispatch(a, sa, b, sb, out, n, [](auto x, auto y) {
        // NaN in either operand gives NaN (numpy semantics), whatever the target's Max does.
        const auto r = hn::IfThenElse(hn::Ne(x, x), x, hn::Max(x, y));
        return hn::IfThenElse(hn::Ne(y, y), y, r);
      });
    case BinaryF32::kMin:
      return Dispatch(a, sa, b, sb, out, n, [](auto x, auto y) {
        // NaN in either operand gives NaN (numpy semantics), whatever the target's Min does.
        const auto r = hn::IfThenElse(hn::Ne(x, x), x, hn::Min(x, y));
        return hn::IfThenElse(hn::Ne(y, y), y, r);
      });
    case BinaryF32::kPRelu:
      return Dispatch(a, sa, b, sb, out, n, [](auto x, auto y) {
        return hn::IfThenElse(hn::Lt(x, hn::Zero(hn::DFromV<decltype(x)>())), hn::Mul(x, y), x);
      });
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(BinaryF32Impl);

void binary_f32(BinaryF32 op, const float* a, bool a_scalar, const float* b, bool b_scalar,
                float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(BinaryF32Impl)(static_cast<int>(op), a, a_scalar, b, b_scalar, out, n);
}
}  // namespace octet::simd
#endif
