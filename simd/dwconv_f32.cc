// Depthwise NHWC convolution: channels in vector lanes, 4 output columns per step inside.
#include "simd/dwconv_f32.h"

#include <algorithm>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/dwconv_f32.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "simd/tail-inl.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;

// First output column whose taps are all inside [0, W) and the end of that range.
inline void InteriorCols(const DwConvShape& s, int64_t& ow_lo, int64_t& ow_hi) {
  // ow*sw - pl >= 0  and  ow*sw - pl + (KW-1)*dw <= W-1
  ow_lo = (s.pl + s.sw - 1) / s.sw;
  const int64_t last = s.W - 1 + s.pl - (s.KW - 1) * s.dw;
  ow_hi = last < 0 ? 0 : last / s.sw + 1;
  ow_hi = std::min(ow_hi, s.OW);
  ow_lo = std::min(ow_lo, ow_hi);
}

template <bool kMasked>
HWY_INLINE void Pixel(const float* HWY_RESTRICT in, const float* HWY_RESTRICT w,
                      const float* HWY_RESTRICT bias, float* HWY_RESTRICT out,
                      const DwConvShape& s, int64_t oh, int64_t ow, size_t c, size_t n) {
  const DF d;
  auto load = [&](const float* p) { return kMasked ? LoadTail(d, p, n) : hn::LoadU(d, p); };
  auto acc = bias ? load(bias + c) : hn::Zero(d);
  for (int64_t kh = 0; kh < s.KH; ++kh) {
    const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
    if (ih < 0 || ih >= s.H) continue;
    for (int64_t kw = 0; kw < s.KW; ++kw) {
      const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
      if (iw < 0 || iw >= s.W) continue;
      acc = hn::MulAdd(load(in + (ih * s.W + iw) * s.C + c), load(w + (kh * s.KW + kw) * s.C + c),
                       acc);
    }
  }
  acc = hn::Min(hn::Max(acc, hn::Set(d, s.lo)), hn::Set(d, s.hi));
  float* o = out + (oh * s.OW + ow) * s.C + c;
  if (kMasked) StoreTail(acc, d, o, n); else hn::StoreU(acc, d, o);
}

// Four interior output columns sharing each weight load.
HWY_INLINE void Quad(const float* HWY_RESTRICT in, const float* HWY_RESTRICT w,
                     const float* HWY_RESTRICT bias, float* HWY_RESTRICT out,
                     const DwConvShape& s, int64_t oh, int64_t ow, size_t c) {
  const DF d;
  auto a0 = bias ? hn::LoadU(d, bias + c) : hn::Zero(d);
  auto a1 = a0, a2 = a0, a3 = a0;
  const int64_t step = s.sw * s.C;
  for (int64_t kh = 0; kh < s.KH; ++kh) {
    const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
    if (ih < 0 || ih >= s.H) continue;
    const float* row = in + (ih * s.W + ow * s.sw - s.pl) * s.C + c;
    const float* wr = w + kh * s.KW * s.C + c;
    for (int64_t kw = 0; kw < s.KW; ++kw) {
      const auto wv = hn::LoadU(d, wr + kw * s.C);
      const float* p = row + kw * s.dw * s.C;
      a0 = hn::MulAdd(hn::LoadU(d, p), wv, a0);
      a1 = hn::MulAdd(hn::LoadU(d, p + step), wv, a1);
      a2 = hn::MulAdd(hn::LoadU(d, p + 2 * step), wv, a2);
      a3 = hn::MulAdd(hn::LoadU(d, p + 3 * step), wv, a3);
    }
  }
  const auto lo = hn::Set(d, s.lo), hi = hn::Set(d, s.hi);
  float* o = out + (oh * s.OW + ow) * s.C + c;
  hn::StoreU(hn::Min(hn::Max(a0, lo), hi), d, o);
  hn::StoreU(hn::Min(hn::Max(a1, lo), hi), d, o + s.C);
  hn::StoreU(hn::Min(hn::Max(a2, lo), hi), d, o + 2 * s.C);
  hn::StoreU(hn::Min(hn::Max(a3, lo), hi), d, o + 3 * s.C);
}

// 3-wide kernels with stride 1 or 2 and no horizontal dilation: sweep a row keeping the
// 3x3 weights and a sliding window of input columns in registers (3 or 6 loads per output).
// Rows outside the image get zero weights and read a valid row instead.
template <int64_t SW, bool kMasked>
HWY_INLINE void Row3x3(const float* HWY_RESTRICT in, const float* HWY_RESTRICT w,
                       const float* HWY_RESTRICT bias, float* HWY_RESTRICT out,
                       const DwConvShape& s, int64_t oh, int64_t ow0, int64_t ow1, size_t c,
                       size_t n) {
  const DF d;
  using V = hn::Vec<DF>;
  auto load = [&](const float* p) { return kMasked ? LoadTail(d, p, n) : hn::LoadU(d, p); };
  const float* rows[3];
  V w0[3], w1[3], w2[3];
  for (int64_t kh = 0; kh < 3; ++kh) {
    const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
    const bool valid = ih >= 0 && ih < s.H;
    const int64_t ir = valid ? ih : 0;
    rows[kh] = in + ir * s.W * s.C + c;
    const float* wk = w + kh * 3 * s.C + c;
    w0[kh] = valid ? load(wk) : hn::Zero(d);
    w1[kh] = valid ? load(wk + s.C) : hn::Zero(d);
    w2[kh] = valid ? load(wk + 2 * s.C) : hn::Zero(d);
  }
  const int64_t W = s.W, C = s.C;
  auto col = [&](int kh, int64_t iw) {
    return (iw >= 0 && iw < W) ? load(rows[kh] + iw * C) : hn::Zero(d);
  };
  const V b = bias ? load(bias + c) : hn::Zero(d);
  const V lo = hn::Set(d, s.lo), hi = hn::Set(d, s.hi);
  V x0[3], x1[3], x2[3];
  int64_t iw = ow0 * SW - s.pl;
  for (int kh = 0; kh < 3; ++kh) {
    x0[kh] = col(kh, iw);
    x1[kh] = col(kh, iw + 1);
  }
  float* o = out + (oh * s.OW + ow0) * C + c;
  for (int64_t ow = ow0; ow < ow1; ++ow, iw += SW, o += C) {
    if (SW == 2) {
      for (int kh = 0; kh < 3; ++kh) x1[kh] = col(kh, iw + 1);
    }
    for (int kh = 0; kh < 3; ++kh) x2[kh] = col(kh, iw + 2);
    V a0 = hn::MulAdd(x0[0], w0[0], b);
    V a1 = hn::Mul(x0[1], w0[1]);
    V a2 = hn::Mul(x0[2], w0[2]);
    a0 = hn::MulAdd(x1[0], w1[0], a0);
    a1 = hn::MulAdd(x1[1], w1[1], a1);
    a2 = hn::MulAdd(x1[2], w1[2], a2);
    a0 = hn::MulAdd(x2[0], w2[0], a0);
    a1 = hn::MulAdd(x2[1], w2[1], a1);
    a2 = hn::MulAdd(x2[2], w2[2], a2);
    const V acc = hn::Min(hn::Max(hn::Add(a0, hn::Add(a1, a2)), lo), hi);
    if (kMasked) StoreTail(acc, d, o, n); else hn::StoreU(acc, d, o);
    for (int kh = 0; kh < 3; ++kh) {
      if (SW == 1) {
        x0[kh] = x1[kh];
        x1[kh] = x2[kh];
      } else {
        x0[kh] = x2[kh];
      }
    }
  }
}

template <int64_t SW>
void Rows3x3(const float* in, const float* w, const float* bias, float* out,
             const DwConvShape& s, int64_t oh_begin, int64_t oh_end) {
  const size_t L = hn::Lanes(DF());
  const size_t C = static_cast<size_t>(s.C), cfull = C / L * L;
  // Column chunks keep the 3 input rows of a chunk (all channels) in L1 across channel blocks.
  const int64_t chunk = std::max<int64_t>(16, 8192 / std::max<int64_t>(1, 3 * SW * s.C));
  for (int64_t oh = oh_begin; oh < oh_end; ++oh)
    for (int64_t ow0 = 0; ow0 < s.OW; ow0 += chunk) {
      const int64_t ow1 = std::min(s.OW, ow0 + chunk);
      for (size_t c = 0; c < cfull; c += L)
        Row3x3<SW, false>(in, w, bias, out, s, oh, ow0, ow1, c, L);
      if (cfull < C) Row3x3<SW, true>(in, w, bias, out, s, oh, ow0, ow1, cfull, C - cfull);
    }
}

void DwConvRows(const float* in, const float* w, const float* bias, float* out,
                const DwConvShape& s, int64_t oh_begin, int64_t oh_end) {
  if (s.KH == 3 && s.KW == 3 && s.dw == 1 && (s.sw == 1 || s.sw == 2)) {
    if (s.sw == 1) Rows3x3<1>(in, w, bias, out, s, oh_begin, oh_end);
    else Rows3x3<2>(in, w, bias, out, s, oh_begin, oh_end);
    return;
  }
  const DF d;
  const size_t L = hn::Lanes(d);
  const size_t C = static_cast<size_t>(s.C);
  const size_t cfull = C / L * L;
  int64_t ow_lo, ow_hi;
  InteriorCols(s, ow_lo, ow_hi);
  for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
    auto edge = [&](int64_t ow) {
      for (size_t c = 0; c < cfull; c += L) Pixel<false>(in, w, bias, out, s, oh, ow, c, L);
      if (cfull < C) Pixel<true>(in, w, bias, out, s, oh, ow, cfull, C - cfull);
    };
    int64_t ow = 0;
    for (; ow < ow_lo; ++ow) edge(ow);
    for (; ow + 4 <= ow_hi; ow += 4) {
      for (size_t c = 0; c < cfull; c += L) Quad(in, w, bias, out, s, oh, ow, c);
      if (cfull < C)
        for (int64_t j = 0; j < 4; ++j)
          Pixel<true>(in, w, bias, out, s, oh, ow + j, cfull, C - cfull);
    }
    for (; ow < s.OW; ++ow) edge(ow);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(DwConvRows);
void dwconv_nhwc_f32(const float* in, const float* w, const float* bias, float* out,
                     const DwConvShape& s, int64_t oh_begin, int64_t oh_end) {
  HWY_DYNAMIC_DISPATCH(DwConvRows)(in, w, bias, out, s, oh_begin, oh_end);
}
}  // namespace octet::simd
#endif  // HWY_ONCE
