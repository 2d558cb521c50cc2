// Highway implementations of simd/q_eltwise.h. Full vectors in SIMD, the tail through the
// scalar element functions of the header (the same operations, so the same bits).
#include "simd/q_eltwise.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/q_eltwise.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;

template <typename T>
HWY_INLINE VF Load8(const T* in) {
  const DF df;
  const DI di;
  const hn::Rebind<T, DF> dt;
  return hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(dt, in)));
}

template <typename T>
HWY_INLINE void Store8(VF v, T* out) {
  const DI di;
  const hn::Rebind<T, DF> dt;
  hn::StoreU(hn::DemoteTo(dt, hn::ConvertTo(di, v)), dt, out);
}

// roundeven(clamp(f, lo, hi)) + zy, stored as codes.
template <typename T>
HWY_INLINE void Finish(VF f, VF lo, VF hi, VF zy, T* out) {
  Store8(hn::Add(hn::Round(hn::Min(hn::Max(f, lo), hi)), zy), out);
}

template <class F>
HWY_INLINE void WithCode(QCode c, F&& f) {
  if (c == QCode::kU8) f(uint8_t{});
  else f(int8_t{});
}

template <bool kMul, bool kBcastA, bool kBcastB, typename TA, typename TB, typename TY>
void BinaryLoop(const TA* a, const TB* b, TY* y, size_t n, const QAffineF32& p) {
  const DF d;
  const size_t L = hn::Lanes(d);
  const VF za = hn::Set(d, p.za), zb = hn::Set(d, p.zb), ma = hn::Set(d, p.ma),
           mb = hn::Set(d, p.mb), lo = hn::Set(d, p.lo), hi = hn::Set(d, p.hi),
           zy = hn::Set(d, p.zy);
  const VF ca = hn::Sub(hn::Set(d, float(a[0])), za), cb = hn::Sub(hn::Set(d, float(b[0])), zb);
  size_t i = 0;
  for (; i + L <= n; i += L) {
    const VF va = kBcastA ? ca : hn::Sub(Load8(a + i), za);
    const VF vb = kBcastB ? cb : hn::Sub(Load8(b + i), zb);
    const VF f = kMul ? hn::Mul(hn::Mul(va, vb), ma) : hn::Add(hn::Mul(va, ma), hn::Mul(vb, mb));
    Finish(f, lo, hi, zy, y + i);
  }
  for (; i < n; ++i) {
    const int32_t av = a[kBcastA ? 0 : i], bv = b[kBcastB ? 0 : i];
    y[i] = static_cast<TY>(kMul ? q_mul_fp32_one(av, bv, p) : q_add_fp32_one(av, bv, p));
  }
}

template <bool kMul, typename TA, typename TB, typename TY>
void BinaryT(const TA* a, bool a_bcast, const TB* b, bool b_bcast, TY* y, size_t n,
             const QAffineF32& p) {
  if (n == 0) return;
  if (a_bcast && b_bcast) return BinaryLoop<kMul, true, true>(a, b, y, n, p);
  if (a_bcast) return BinaryLoop<kMul, true, false>(a, b, y, n, p);
  if (b_bcast) return BinaryLoop<kMul, false, true>(a, b, y, n, p);
  BinaryLoop<kMul, false, false>(a, b, y, n, p);
}

template <bool kMul>
void Binary(const void* a, int ta, bool a_bcast, const void* b, int tb, bool b_bcast, void* y,
            int ty, size_t n, const QAffineF32& p) {
  WithCode(QCode(ta), [&](auto ta_) {
    WithCode(QCode(tb), [&](auto tb_) {
      WithCode(QCode(ty), [&](auto ty_) {
        using TA = decltype(ta_);
        using TB = decltype(tb_);
        using TY = decltype(ty_);
        BinaryT<kMul>(static_cast<const TA*>(a), a_bcast, static_cast<const TB*>(b), b_bcast,
                      static_cast<TY*>(y), n, p);
      });
    });
  });
}

void QAddF32(const void* a, int ta, bool a_bcast, const void* b, int tb, bool b_bcast, void* y,
             int ty, size_t n, const QAffineF32& p) {
  Binary<false>(a, ta, a_bcast, b, tb, b_bcast, y, ty, n, p);
}
void QMulF32(const void* a, int ta, bool a_bcast, const void* b, int tb, bool b_bcast, void* y,
             int ty, size_t n, const QAffineF32& p) {
  Binary<true>(a, ta, a_bcast, b, tb, b_bcast, y, ty, n, p);
}

// MLAS QAdd / QMul (q_add_mlas_one / q_mul_mlas_one). Without native FMA (SSE targets:
// Highway's MulAdd would round twice) the whole run takes the scalar std::fma path.
template <typename TY>
HWY_INLINE void FinishMlas(VF r, VF lo, VF hi, TY* out) {
  Store8(hn::Min(hn::Max(hn::Round(r), lo), hi), out);
}

template <bool kBcastA, bool kBcastB, typename TA, typename TB, typename TY>
void MlasAddLoop(const TA* a, const TB* b, TY* y, size_t n, const QMlasF32& p) {
  size_t i = 0;
#if HWY_NATIVE_FMA
  const DF d;
  const size_t L = hn::Lanes(d);
  const VF ma = hn::Set(d, p.ma), mb = hn::Set(d, p.mb), lo = hn::Set(d, p.lo),
           hi = hn::Set(d, p.hi);
  VF fixed = hn::Set(d, p.fixed);
  if (kBcastA) fixed = hn::MulAdd(hn::Set(d, float(a[0])), ma, fixed);
  else if (kBcastB) fixed = hn::MulAdd(hn::Set(d, float(b[0])), mb, fixed);
  for (; i + L <= n; i += L) {
    VF r;
    if (kBcastA) r = hn::MulAdd(kBcastB ? hn::Set(d, float(b[0])) : Load8(b + i), mb, fixed);
    else if (kBcastB) r = hn::MulAdd(Load8(a + i), ma, fixed);
    else r = hn::MulAdd(Load8(a + i), ma, hn::MulAdd(Load8(b + i), mb, fixed));
    FinishMlas(r, lo, hi, y + i);
  }
#endif
  for (; i < n; ++i)
    y[i] = static_cast<TY>(q_add_mlas_one(a[kBcastA ? 0 : i], kBcastA, b[kBcastB ? 0 : i], kBcastB, p));
}

template <bool kBcastA, bool kBcastB, typename TA, typename TB, typename TY>
void MlasMulLoop(const TA* a, int32_t za_, const TB* b, int32_t zb_, TY* y, size_t n,
                 const QMlasF32& p) {
  const DF d;
  const size_t L = hn::Lanes(d);
  // |(a - za) * (b - zb)| <= 255 * 255 < 2^24: the product is exact in float.
  const VF za = hn::Set(d, float(za_)), zb = hn::Set(d, float(zb_)), m = hn::Set(d, p.ma),
           zy = hn::Set(d, p.fixed), lo = hn::Set(d, p.lo), hi = hn::Set(d, p.hi);
  const VF ca = hn::Sub(hn::Set(d, float(a[0])), za), cb = hn::Sub(hn::Set(d, float(b[0])), zb);
  size_t i = 0;
  for (; i + L <= n; i += L) {
    const VF va = kBcastA ? ca : hn::Sub(Load8(a + i), za);
    const VF vb = kBcastB ? cb : hn::Sub(Load8(b + i), zb);
    FinishMlas(hn::Add(hn::Mul(hn::Mul(va, vb), m), zy), lo, hi, y + i);
  }
  for (; i < n; ++i)
    y[i] = static_cast<TY>(q_mul_mlas_one(a[kBcastA ? 0 : i], za_, b[kBcastB ? 0 : i], zb_, p));
}

template <bool kMul, bool kBcastA, bool kBcastB, typename TA, typename TB, typename TY>
void MlasLoop(const TA* a, int32_t za, const TB* b, int32_t zb, TY* y, size_t n,
              const QMlasF32& p) {
  if (kMul) MlasMulLoop<kBcastA, kBcastB>(a, za, b, zb, y, n, p);
  else MlasAddLoop<kBcastA, kBcastB>(a, b, y, n, p);
}

template <bool kMul>
void Mlas(const void* a, int ta, int32_t za, bool a_bcast, const void* b, int tb, int32_t zb,
          bool b_bcast, void* y, int ty, size_t n, const QMlasF32& p) {
  if (n == 0) return;
  WithCode(QCode(ta), [&](auto ta_) {
    WithCode(QCode(tb), [&](auto tb_) {
      WithCode(QCode(ty), [&](auto ty_) {
        const auto* av = static_cast<const decltype(ta_)*>(a);
        const auto* bv = static_cast<const decltype(tb_)*>(b);
        auto* yv = static_cast<decltype(ty_)*>(y);
        if (a_bcast && b_bcast) MlasLoop<kMul, true, true>(av, za, bv, zb, yv, n, p);
        else if (a_bcast) MlasLoop<kMul, true, false>(av, za, bv, zb, yv, n, p);
        else if (b_bcast) MlasLoop<kMul, false, true>(av, za, bv, zb, yv, n, p);
        else MlasLoop<kMul, false, false>(av, za, bv, zb, yv, n, p);
      });
    });
  });
}

void QAddMlas(const void* a, int ta, bool a_bcast, const void* b, int tb, bool b_bcast, void* y,
              int ty, size_t n, const QMlasF32& p) {
  Mlas<false>(a, ta, 0, a_bcast, b, tb, 0, b_bcast, y, ty, n, p);
}
void QMulMlas(const void* a, int ta, int32_t za, bool a_bcast, const void* b, int tb, int32_t zb,
              bool b_bcast, void* y, int ty, size_t n, const QMlasF32& p) {
  Mlas<true>(a, ta, za, a_bcast, b, tb, zb, b_bcast, y, ty, n, p);
}

void QRequantF32(const void* x, int tx, void* y, int ty, size_t n, const QAffineF32& p) {
  WithCode(QCode(tx), [&](auto tx_) {
    WithCode(QCode(ty), [&](auto ty_) {
      using TX = decltype(tx_);
      using TY = decltype(ty_);
      const TX* xs = static_cast<const TX*>(x);
      TY* ys = static_cast<TY*>(y);
      const DF d;
      const size_t L = hn::Lanes(d);
      const VF za = hn::Set(d, p.za), ma = hn::Set(d, p.ma), lo = hn::Set(d, p.lo),
               hi = hn::Set(d, p.hi), zy = hn::Set(d, p.zy);
      size_t i = 0;
      for (; i + L <= n; i += L) Finish(hn::Mul(hn::Sub(Load8(xs + i), za), ma), lo, hi, zy, ys + i);
      for (; i < n; ++i) ys[i] = static_cast<TY>(q_requant_fp32_one(xs[i], p));
    });
  });
}

void QAccF32(const int32_t* acc, void* y, int ty, size_t n, float m, float lo_, float hi_,
             float zy_) {
  WithCode(QCode(ty), [&](auto ty_) {
    using TY = decltype(ty_);
    TY* ys = static_cast<TY*>(y);
    const DF d;
    const DI di;
    const size_t L = hn::Lanes(d);
    const VF vm = hn::Set(d, m), lo = hn::Set(d, lo_), hi = hn::Set(d, hi_), zy = hn::Set(d, zy_);
    size_t i = 0;
    for (; i + L <= n; i += L)
      Finish(hn::Mul(hn::ConvertTo(d, hn::LoadU(di, acc + i)), vm), lo, hi, zy, ys + i);
    for (; i < n; ++i) ys[i] = static_cast<TY>(q_acc_fp32_one(acc[i], m, lo_, hi_, zy_));
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(QAddF32);
HWY_EXPORT(QMulF32);
HWY_EXPORT(QAddMlas);
HWY_EXPORT(QMulMlas);
HWY_EXPORT(QRequantF32);
HWY_EXPORT(QAccF32);

void q_add_fp32(const void* a, QCode ta, bool a_bcast, const void* b, QCode tb, bool b_bcast,
                void* y, QCode ty, size_t n, const QAffineF32& p) {
  HWY_DYNAMIC_DISPATCH(QAddF32)(a, int(ta), a_bcast, b, int(tb), b_bcast, y, int(ty), n, p);
}
void q_mul_fp32(const void* a, QCode ta, bool a_bcast, const void* b, QCode tb, bool b_bcast,
                void* y, QCode ty, size_t n, const QAffineF32& p) {
  HWY_DYNAMIC_DISPATCH(QMulF32)(a, int(ta), a_bcast, b, int(tb), b_bcast, y, int(ty), n, p);
}
void q_add_mlas(const void* a, QCode ta, bool a_bcast, const void* b, QCode tb, bool b_bcast,
                void* y, QCode ty, size_t n, const QMlasF32& p) {
  HWY_DYNAMIC_DISPATCH(QAddMlas)(a, int(ta), a_bcast, b, int(tb), b_bcast, y, int(ty), n, p);
}
void q_mul_mlas(const void* a, QCode ta, int32_t za, bool a_bcast, const void* b, QCode tb,
                int32_t zb, bool b_bcast, void* y, QCode ty, size_t n, const QMlasF32& p) {
  HWY_DYNAMIC_DISPATCH(QMulMlas)(a, int(ta), za, a_bcast, b, int(tb), zb, b_bcast, y, int(ty), n, p);
}
void q_requant_fp32(const void* x, QCode tx, void* y, QCode ty, size_t n, const QAffineF32& p) {
  HWY_DYNAMIC_DISPATCH(QRequantF32)(x, int(tx), y, int(ty), n, p);
}
void q_acc_fp32(const int32_t* acc, void* y, QCode ty, size_t n, float m, float lo, float hi,
                float zy) {
  HWY_DYNAMIC_DISPATCH(QAccF32)(acc, y, int(ty), n, m, lo, hi, zy);
}
}  // namespace octet::simd
#endif
