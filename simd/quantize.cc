// Highway implementations of simd/quantize.h. Full vectors in SIMD, the tail through the scalar
// element functions of the header (same operations, so the results are identical).
#include "simd/quantize.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/quantize.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;

// clamp(roundeven(x / s) + zp, lo, hi), NaN lanes -> zp.
HWY_INLINE VF QuantizeV(VF x, VF s, VF zp, VF lo, VF hi) {
  VF v = hn::Add(hn::Round(hn::Div(x, s)), zp);
  v = hn::Min(hn::Max(v, lo), hi);
  return hn::IfThenElse(hn::Eq(x, x), v, zp);
}

template <typename T>
HWY_INLINE void StoreCodes(VF v, T* out) {
  const DF df;
  const DI di;
  const auto vi = hn::ConvertTo(di, v);
  if constexpr (sizeof(T) == 4) {
    hn::StoreU(vi, di, out);
  } else {
    const hn::Rebind<T, DF> dt;
    hn::StoreU(hn::DemoteTo(dt, vi), dt, out);
  }
  (void)df;
}

template <typename T>
HWY_INLINE VF LoadCodes(const T* in) {
  const DF df;
  const DI di;
  if constexpr (sizeof(T) == 4) {
    return hn::ConvertTo(df, hn::LoadU(di, in));
  } else {
    const hn::Rebind<T, DF> dt;
    return hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(dt, in)));
  }
}

template <typename T>
void QuantizeT(const float* x, T* q, size_t n, const QRunParams& p) {
  const DF d;
  const size_t L = hn::Lanes(d);
  const VF lo = hn::Set(d, p.qmin), hi = hn::Set(d, p.qmax);
  size_t i = 0;
  if (!p.per_element) {
    const VF s = hn::Set(d, p.scale[0]), zp = hn::Set(d, p.zero_point[0]);
    for (; i + L <= n; i += L) StoreCodes(QuantizeV(hn::LoadU(d, x + i), s, zp, lo, hi), q + i);
    for (; i < n; ++i)
      q[i] = static_cast<T>(quantize_code_f32(x[i], p.scale[0], p.zero_point[0], p.qmin, p.qmax));
  } else {
    for (; i + L <= n; i += L) {
      const VF s = hn::LoadU(d, p.scale + i), zp = hn::LoadU(d, p.zero_point + i);
      StoreCodes(QuantizeV(hn::LoadU(d, x + i), s, zp, lo, hi), q + i);
    }
    for (; i < n; ++i)
      q[i] = static_cast<T>(quantize_code_f32(x[i], p.scale[i], p.zero_point[i], p.qmin, p.qmax));
  }
}

template <typename T>
void DequantizeT(const T* q, float* y, size_t n, const QRunParams& p) {
  const DF d;
  const size_t L = hn::Lanes(d);
  size_t i = 0;
  if (!p.per_element) {
    const VF s = hn::Set(d, p.scale[0]), zp = hn::Set(d, p.zero_point[0]);
    for (; i + L <= n; i += L) hn::StoreU(hn::Mul(hn::Sub(LoadCodes(q + i), zp), s), d, y + i);
    for (; i < n; ++i)
      y[i] = dequantize_code_f32(static_cast<float>(q[i]), p.scale[0], p.zero_point[0]);
  } else {
    for (; i + L <= n; i += L) {
      const VF s = hn::LoadU(d, p.scale + i), zp = hn::LoadU(d, p.zero_point + i);
      hn::StoreU(hn::Mul(hn::Sub(LoadCodes(q + i), zp), s), d, y + i);
    }
    for (; i < n; ++i)
      y[i] = dequantize_code_f32(static_cast<float>(q[i]), p.scale[i], p.zero_point[i]);
  }
}

void QuantizeF32(const float* x, void* q, int code, size_t n, const QRunParams& p) {
  switch (static_cast<QCode>(code)) {
    case QCode::kI32: return QuantizeT(x, static_cast<int32_t*>(q), n, p);
    case QCode::kI16: return QuantizeT(x, static_cast<int16_t*>(q), n, p);
    case QCode::kU16: return QuantizeT(x, static_cast<uint16_t*>(q), n, p);
    case QCode::kI8: return QuantizeT(x, static_cast<int8_t*>(q), n, p);
    case QCode::kU8: return QuantizeT(x, static_cast<uint8_t*>(q), n, p);
  }
}

void DequantizeF32(const void* q, int code, float* y, size_t n, const QRunParams& p) {
  switch (static_cast<QCode>(code)) {
    case QCode::kI32: return DequantizeT(static_cast<const int32_t*>(q), y, n, p);
    case QCode::kI16: return DequantizeT(static_cast<const int16_t*>(q), y, n, p);
    case QCode::kU16: return DequantizeT(static_cast<const uint16_t*>(q), y, n, p);
    case QCode::kI8: return DequantizeT(static_cast<const int8_t*>(q), y, n, p);
    case QCode::kU8: return DequantizeT(static_cast<const uint8_t*>(q), y, n, p);
  }
}

void QuantizeDequantizeF32(const float* x, float* y, size_t n, const QRunParams& p) {
  const DF d;
  const size_t L = hn::Lanes(d);
  const VF lo = hn::Set(d, p.qmin), hi = hn::Set(d, p.qmax);
  size_t i = 0;
  auto one = [&](VF v, VF s, VF zp) {
    const VF r = hn::Mul(hn::Sub(QuantizeV(v, s, zp, lo, hi), zp), s);
    return hn::IfThenElse(hn::Eq(v, v), r, v);
  };
  if (!p.per_element) {
    const VF s = hn::Set(d, p.scale[0]), zp = hn::Set(d, p.zero_point[0]);
    for (; i + L <= n; i += L) hn::StoreU(one(hn::LoadU(d, x + i), s, zp), d, y + i);
    for (; i < n; ++i)
      y[i] = quantize_dequantize_f32_one(x[i], p.scale[0], p.zero_point[0], p.qmin, p.qmax);
  } else {
    for (; i + L <= n; i += L) {
      const VF s = hn::LoadU(d, p.scale + i), zp = hn::LoadU(d, p.zero_point + i);
      hn::StoreU(one(hn::LoadU(d, x + i), s, zp), d, y + i);
    }
    for (; i < n; ++i)
      y[i] = quantize_dequantize_f32_one(x[i], p.scale[i], p.zero_point[i], p.qmin, p.qmax);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(QuantizeF32);
HWY_EXPORT(DequantizeF32);
HWY_EXPORT(QuantizeDequantizeF32);

void quantize_f32(const float* x, void* q, QCode code, size_t n, const QRunParams& p) {
  HWY_DYNAMIC_DISPATCH(QuantizeF32)(x, q, static_cast<int>(code), n, p);
}
void dequantize_f32(const void* q, QCode code, float* y, size_t n, const QRunParams& p) {
  HWY_DYNAMIC_DISPATCH(DequantizeF32)(q, static_cast<int>(code), y, n, p);
}
void quantize_dequantize_f32(const float* x, float* y, size_t n, const QRunParams& p) {
  HWY_DYNAMIC_DISPATCH(QuantizeDequantizeF32)(x, y, n, p);
}
}  // namespace octet::simd
#endif
