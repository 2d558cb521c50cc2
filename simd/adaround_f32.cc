// Highway implementation of simd/adaround_f32.h.
#include "simd/adaround_f32.h"

#include "simd/gemm_f32.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/adaround_f32.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Every helper works on U independent vectors, stage by stage, so that the long dependency
// chains (polynomials, Newton steps) of several vectors overlap in the out-of-order core.
#define OCTET_EACH _Pragma("GCC unroll 64") for (size_t u = 0; u < U; ++u)

// 1 / x for finite x > 0 (hardware estimate + one Newton step).
template <size_t U, class D, class V>
HWY_INLINE void Recip(D d, V* x) {
  V r[U];
  OCTET_EACH r[u] = hn::ApproximateReciprocal(x[u]);
  OCTET_EACH x[u] = hn::Mul(r[u], hn::NegMulAdd(x[u], r[u], hn::Set(d, 2.f)));
}

// e^y for y in [-87, 88] (Cephes expf: 2^n e^r, |r| <= ln2/2, degree-5 polynomial), in place.
template <size_t U, class D, class V>
HWY_INLINE void Exp(D d, V* y) {
  const hn::RebindToSigned<D> di;
  V n[U], r[U], p[U];
  OCTET_EACH y[u] = hn::Min(hn::Max(y[u], hn::Set(d, -87.f)), hn::Set(d, 88.f));
  OCTET_EACH n[u] = hn::Round(hn::Mul(y[u], hn::Set(d, 1.44269504088896341f)));
  OCTET_EACH r[u] = hn::NegMulAdd(n[u], hn::Set(d, 0.693359375f), y[u]);
  OCTET_EACH r[u] = hn::NegMulAdd(n[u], hn::Set(d, -2.12194440e-4f), r[u]);
  OCTET_EACH p[u] = hn::MulAdd(hn::Set(d, 1.9875691500e-4f), r[u], hn::Set(d, 1.3981999507e-3f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], r[u], hn::Set(d, 8.3334519073e-3f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], r[u], hn::Set(d, 4.1665795894e-2f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], r[u], hn::Set(d, 1.6666665459e-1f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], r[u], hn::Set(d, 5.0000001201e-1f));
  OCTET_EACH p[u] = hn::MulAdd(hn::Mul(p[u], r[u]), r[u], hn::Add(r[u], hn::Set(d, 1.f)));
  OCTET_EACH {
    const auto bits = hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n[u]), hn::Set(di, 127)));
    y[u] = hn::Mul(p[u], hn::BitCast(d, bits));
  }
}

// ln(x) for normal x > 0 (Cephes logf: exponent + degree-9 polynomial in the mantissa - 1),
// in place.
template <size_t U, class D, class V>
HWY_INLINE void Log(D d, V* x) {
  const hn::RebindToSigned<D> di;
  V e[U], t[U], p[U];
  OCTET_EACH {
    const auto bits = hn::BitCast(di, x[u]);
    e[u] = hn::ConvertTo(d, hn::Sub(hn::ShiftRight<23>(bits), hn::Set(di, 127)));
    V m = hn::BitCast(d, hn::Or(hn::And(bits, hn::Set(di, 0x7fffff)), hn::Set(di, 0x3f800000)));
    const auto big = hn::Gt(m, hn::Set(d, 1.41421356237f));
    m = hn::IfThenElse(big, hn::Mul(m, hn::Set(d, 0.5f)), m);
    e[u] = hn::IfThenElse(big, hn::Add(e[u], hn::Set(d, 1.f)), e[u]);
    t[u] = hn::Sub(m, hn::Set(d, 1.f));
  }
  OCTET_EACH p[u] = hn::MulAdd(hn::Set(d, 7.0376836292e-2f), t[u], hn::Set(d, -1.1514610310e-1f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], t[u], hn::Set(d, 1.1676998740e-1f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], t[u], hn::Set(d, -1.2420140846e-1f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], t[u], hn::Set(d, 1.4249322787e-1f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], t[u], hn::Set(d, -1.6668057665e-1f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], t[u], hn::Set(d, 2.0000714765e-1f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], t[u], hn::Set(d, -2.4999993993e-1f));
  OCTET_EACH p[u] = hn::MulAdd(p[u], t[u], hn::Set(d, 3.3333331174e-1f));
  OCTET_EACH {
    const V t2 = hn::Mul(t[u], t[u]);
    V y = hn::Mul(hn::Mul(p[u], t2), t[u]);
    y = hn::MulAdd(hn::Set(d, -0.5f), t2, y);
    x[u] = hn::MulAdd(e[u], hn::Set(d, 0.693147180559945f), hn::Add(t[u], y));
  }
}

struct Consts {
  float reg_coef, beta_minus_1, step, inv_sqrt_bc2;
};

// R panel rows starting at element offsets off[i], their columns' grid at col[i].
// U vectors whose element offsets (weights) are ei[u] and column offsets (per-column
// parameters) ci[u]. Not inlined: one copy per target keeps the compile (and the sanitizer
// build) small; a call per group of up to 8 vectors costs nothing measurable.
template <size_t U, class D>
HWY_NOINLINE void Group(D d, const AdaroundStepF32& s, const size_t* ei, const size_t* ci,
                      bool update, bool reg) {
  using V = hn::Vec<D>;
  constexpr float kZeta = 1.1f, kGamma = -0.1f;
  constexpr float kB1 = 0.9f, kB2 = 0.999f, kEps = 1e-8f;
  const V zero = hn::Zero(d), one = hn::Set(d, 1.f), half = hn::Set(d, 0.5f);
  const V zg = hn::Set(d, kZeta - kGamma), gm = hn::Set(d, kGamma);
  V vv[U], fl[U], sc[U];
  OCTET_EACH {
    vv[u] = hn::LoadU(d, s.V + ei[u]);
    fl[u] = hn::LoadU(d, s.fl + ei[u]);
    sc[u] = hn::LoadU(d, s.scale + ci[u]);
  }
  if (update) {
    V h[U], dh[U], g[U];
    auto any_inside = hn::FirstN(d, 0);
    OCTET_EACH {
      const V sg = hn::LoadU(d, s.S + ei[u]);
      const V hr = hn::MulAdd(sg, zg, gm);
      h[u] = hn::Min(hn::Max(hr, zero), one);
      const auto inside = hn::And(hn::Ge(hr, zero), hn::Le(hr, one));
      dh[u] = hn::IfThenElseZero(inside, hn::Mul(zg, hn::Mul(sg, hn::Sub(one, sg))));
      any_inside = hn::Or(any_inside, inside);
      const V q = hn::Add(fl[u], h[u]);
      const auto in_grid =
          hn::And(hn::Ge(q, hn::LoadU(d, s.lo + ci[u])), hn::Le(q, hn::LoadU(d, s.hi + ci[u])));
      g[u] = hn::IfThenElseZero(in_grid, hn::Mul(hn::LoadU(d, s.grad + (ei[u] - s.grad_row0 * kGemmNR)), sc[u]));
    }
    // Saturated h (outside the rectified sigmoid's slope): dh = 0, the regulariser term does
    // not matter.
    if (reg && !hn::AllFalse(d, any_inside)) {
      // d/dh of reg (1 - |2h - 1|^beta) = -2 reg beta |2h - 1|^(beta - 1) sign(2h - 1);
      // |2h - 1|^(beta - 1) = 0 below 1e-30.
      const V tiny = hn::Set(d, 1e-30f), bm1 = hn::Set(d, s.reg_coef == 0.f ? 0.f : 1.f);
      (void)bm1;
      V a[U];
      OCTET_EACH a[u] = hn::Max(hn::Abs(hn::MulSub(hn::Set(d, 2.f), h[u], one)), tiny);
      Log<U>(d, a);
      OCTET_EACH a[u] = hn::Mul(a[u], hn::Set(d, s.beta_minus_1));
      Exp<U>(d, a);
      const V rc = hn::Set(d, s.reg_coef);
      OCTET_EACH {
        const V u_abs = hn::Abs(hn::MulSub(hn::Set(d, 2.f), h[u], one));
        const V av = hn::IfThenElseZero(hn::Gt(u_abs, tiny), a[u]);
        V sign = hn::IfThenElseZero(hn::Gt(h[u], half), one);
        sign = hn::IfThenElse(hn::Lt(h[u], half), hn::Neg(one), sign);
        g[u] = hn::MulAdd(hn::Mul(rc, av), sign, g[u]);
      }
    }
    V m[U], den[U];
    const V b1 = hn::Set(d, kB1), b1c = hn::Set(d, 1.f - kB1);
    const V b2 = hn::Set(d, kB2), b2c = hn::Set(d, 1.f - kB2);
    OCTET_EACH {
      const V gg = hn::Mul(g[u], dh[u]);
      m[u] = hn::MulAdd(b1, hn::LoadU(d, s.m + ei[u]), hn::Mul(b1c, gg));
      const V v = hn::MulAdd(b2, hn::LoadU(d, s.v + ei[u]), hn::Mul(b2c, hn::Mul(gg, gg)));
      hn::StoreU(m[u], d, s.m + ei[u]);
      hn::StoreU(v, d, s.v + ei[u]);
      // sqrt(v) = v / sqrt(v) from the reciprocal square root estimate + one Newton step
      // (v = 0: sqrt(1e-30), far below eps).
      const V vc = hn::Max(v, hn::Set(d, 1e-30f));
      V rs = hn::ApproximateReciprocalSqrt(vc);
      rs = hn::Mul(rs, hn::NegMulAdd(hn::Mul(hn::Mul(vc, half), rs), rs, hn::Set(d, 1.5f)));
      den[u] = hn::MulAdd(hn::Mul(vc, rs), hn::Set(d, s.inv_sqrt_bc2), hn::Set(d, kEps));
    }
    Recip<U>(d, den);
    OCTET_EACH {
      vv[u] = hn::NegMulAdd(hn::Mul(hn::Set(d, s.step), m[u]), den[u], vv[u]);
      hn::StoreU(vv[u], d, s.V + ei[u]);
    }
  }
  if (s.w_out) {
    V e[U];
    OCTET_EACH e[u] = hn::Neg(vv[u]);
    Exp<U>(d, e);
    OCTET_EACH e[u] = hn::Add(one, e[u]);
    Recip<U>(d, e);
    OCTET_EACH {
      hn::StoreU(e[u], d, s.S + ei[u]);
      const V h = hn::Min(hn::Max(hn::MulAdd(e[u], zg, gm), zero), one);
      const V q = hn::Min(hn::Max(hn::Add(fl[u], h), hn::LoadU(d, s.lo + ci[u])), hn::LoadU(d, s.hi + ci[u]));
      hn::StoreU(hn::Mul(sc[u], q), d, s.w_out + ei[u]);
    }
  }
}

// R panel rows: their vectors in groups of at most 8, so that narrow targets (few lanes) do not
// unroll dozens of vectors (the results do not depend on the grouping: every step is
// elementwise).
template <size_t R, class D>
HWY_INLINE void Rows(D d, const AdaroundStepF32& s, const size_t* off, const size_t* col,
                     bool update, bool reg) {
  constexpr size_t L = hn::MaxLanes(D());
  constexpr size_t NV = kGemmNR / L;
  constexpr size_t kTotal = R * NV;
  constexpr size_t kGroup = kTotal < 8 ? kTotal : 8;
  size_t ei[kTotal], ci[kTotal];
  for (size_t u = 0; u < kTotal; ++u) {
    ei[u] = off[u / NV] + (u % NV) * L;
    ci[u] = col[u / NV] + (u % NV) * L;
  }
  for (size_t g = 0; g < kTotal; g += kGroup) Group<kGroup>(d, s, ei + g, ci + g, update, reg);
}

void AdaroundStepImpl(const AdaroundStepF32& s, size_t row0, size_t row1) {
  const hn::CappedTag<float, kGemmNR> d;
  const bool update = s.grad != nullptr, reg = update && s.reg_coef != 0.f;
  size_t p = row0 / s.K, k = row0 % s.K;
  // Pairs of panel rows, then a last single one.
  size_t r = row0;
  for (; r + 2 <= row1; r += 2) {
    size_t off[2], col[2];
    off[0] = r * kGemmNR;
    col[0] = p * kGemmNR;
    if (++k == s.K) k = 0, ++p;
    off[1] = (r + 1) * kGemmNR;
    col[1] = p * kGemmNR;
    if (++k == s.K) k = 0, ++p;
    if (update)
      reg ? Rows<2>(d, s, off, col, true, true) : Rows<2>(d, s, off, col, true, false);
    else
      Rows<2>(d, s, off, col, false, false);
  }
  if (r < row1) {
    const size_t off[1] = {r * kGemmNR}, col[1] = {p * kGemmNR};
    Rows<1>(d, s, off, col, update, reg);
  }
}

#undef OCTET_EACH

// MR rows of C (one panel wide): A^T access (X[b * ldx + r]), broadcasts of contiguous values.
template <size_t MR>
HWY_INLINE void XtgTile(size_t batch, const float* HWY_RESTRICT X, size_t ldx,
                        const float* HWY_RESTRICT G, float* HWY_RESTRICT C) {
  const hn::CappedTag<float, kGemmNR> d;
  using V = hn::Vec<decltype(d)>;
  constexpr size_t L = hn::MaxLanes(decltype(d)());
  constexpr size_t NV = kGemmNR / L;
  V c[MR][NV];
#pragma GCC unroll 16
  for (size_t r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (size_t v = 0; v < NV; ++v) c[r][v] = hn::Zero(d);
  for (size_t b = 0; b < batch; ++b) {
    V g[NV];
#pragma GCC unroll 16
    for (size_t v = 0; v < NV; ++v) g[v] = hn::LoadU(d, G + b * kGemmNR + v * L);
    const float* xr = X + b * ldx;
#pragma GCC unroll 16
    for (size_t r = 0; r < MR; ++r) {
      const V a = hn::Set(d, xr[r]);
#pragma GCC unroll 16
      for (size_t v = 0; v < NV; ++v) c[r][v] = hn::MulAdd(a, g[v], c[r][v]);
    }
  }
#pragma GCC unroll 16
  for (size_t r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (size_t v = 0; v < NV; ++v) hn::StoreU(c[r][v], d, C + r * kGemmNR + v * L);
}

void AdaroundXtgImpl(size_t rows, size_t batch, const float* Xp, const float* G, float* C) {
  constexpr size_t L = hn::MaxLanes(hn::CappedTag<float, kGemmNR>());
  for (size_t r0 = 0; r0 < rows; r0 += kXtgRows) {
    const float* A = Xp + r0 * batch;
    float* Cp = C + r0 * kGemmNR;
    if constexpr (L >= 16) {
      XtgTile<8>(batch, A, kXtgRows, G, Cp);
    } else if constexpr (L == 8) {  // 3 x 4 vectors of accumulators at a time
      XtgTile<3>(batch, A, kXtgRows, G, Cp);
      XtgTile<3>(batch, A + 3, kXtgRows, G, Cp + 3 * kGemmNR);
      XtgTile<2>(batch, A + 6, kXtgRows, G, Cp + 6 * kGemmNR);
    } else {
      for (size_t r = 0; r < kXtgRows; ++r) XtgTile<1>(batch, A + r, kXtgRows, G, Cp + r * kGemmNR);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(AdaroundStepImpl);
HWY_EXPORT(AdaroundXtgImpl);

void adaround_xtg_f32(size_t rows, size_t batch, const float* Xp, const float* G, float* C) {
  HWY_DYNAMIC_DISPATCH(AdaroundXtgImpl)(rows, batch, Xp, G, C);
}

void adaround_step_f32(const AdaroundStepF32& s, size_t row0, size_t row1) {
  HWY_DYNAMIC_DISPATCH(AdaroundStepImpl)(s, row0, row1);
}
}  // namespace octet::simd
#endif
