// Highway quantize-dequantize; gives the same bits as the scalar reference in
// kernels/fake_quant.cc (IEEE division, round half to even, clamp, add, multiply).
#include "simd/fake_quant.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/fake_quant.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cmath>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void FakeQuantF32Impl(const float* x, float* y, int64_t count, float scale, int32_t offset,
                      int32_t qmin, int32_t qmax) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, scale);
  const auto vo = hn::Set(d, static_cast<float>(offset));
  const auto lo = hn::Set(d, static_cast<float>(qmin));
  const auto hi = hn::Set(d, static_cast<float>(qmax));
  const size_t n = static_cast<size_t>(count);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto q = hn::Sub(hn::Round(hn::Div(hn::LoadU(d, x + i), vs)), vo);
    q = hn::Min(hn::Max(q, lo), hi);
    hn::StoreU(hn::Mul(hn::Add(q, vo), vs), d, y + i);
  }
  const float fo = static_cast<float>(offset), flo = static_cast<float>(qmin),
              fhi = static_cast<float>(qmax);
  for (; i < n; ++i) {
    float q = std::nearbyint(x[i] / scale) - fo;
    q = std::min(std::max(q, flo), fhi);
    y[i] = (q + fo) * scale;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(FakeQuantF32Impl);

void fake_quant_f32(const float* x, float* y, int64_t count, float scale, int32_t offset,
                    int32_t qmin, int32_t qmax) {
  HWY_DYNAMIC_DISPATCH(FakeQuantF32Impl)(x, y, count, scale, offset, qmin, qmax);
}
}  // namespace octet::simd
#endif
