// im2col over NHWC: whole kernel rows are single contiguous runs when taps are adjacent.
#include "simd/im2col_f32.h"

#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/im2col_f32.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "simd/tail-inl.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;

// Copies n floats with full vectors and one masked tail (no over-read or over-write).
HWY_INLINE void Copy(float* HWY_RESTRICT dst, const float* HWY_RESTRICT src, int64_t n) {
  const DF d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::LoadU(d, src + i), d, dst + i);
  if (i < n) {
    const size_t rest = static_cast<size_t>(n - i);
    if constexpr (kSafeMasked) StoreTail(LoadTail(d, src + i, rest), d, dst + i, rest);
    else std::memcpy(dst + i, src + i, rest * sizeof(float));
  }
}

HWY_INLINE void Zero(float* HWY_RESTRICT dst, int64_t n) {
  const DF d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::Zero(d), d, dst + i);
  if (i < n) StoreTail(hn::Zero(d), d, dst + i, static_cast<size_t>(n - i));
}

void Im2col(const float* x, const Im2colShape& s, int64_t g, int64_t r0, int64_t r1,
            float* col) {
  const int64_t Cg = s.Cg, K = s.KH * s.KW * Cg, run = s.KW * Cg;
  const bool contiguous = s.dw == 1 && Cg == s.C;
  int64_t ohw = s.OH * s.OW;
  int64_t n = r0 / ohw, oh = (r0 % ohw) / s.OW, ow = r0 % s.OW;
  for (int64_t r = r0; r < r1; ++r) {
    float* dst = col + (r - r0) * K;
    const int64_t iw0 = ow * s.sw - s.pl;
    const bool row_run = contiguous && iw0 >= 0 && iw0 + s.KW <= s.W;
    for (int64_t kh = 0; kh < s.KH; ++kh, dst += run) {
      const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
      if (ih < 0 || ih >= s.H) {
        Zero(dst, run);
        continue;
      }
      const float* src_row = x + ((n * s.H + ih) * s.W) * s.C + g * Cg;
      if (row_run) {
        Copy(dst, src_row + iw0 * s.C, run);
        continue;
      }
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        const int64_t iw = iw0 + kw * s.dw;
        if (iw < 0 || iw >= s.W) Zero(dst + kw * Cg, Cg);
        else Copy(dst + kw * Cg, src_row + iw * s.C, Cg);
      }
    }
    if (++ow == s.OW) {
      ow = 0;
      if (++oh == s.OH) {
        oh = 0;
        ++n;
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {
HWY_EXPORT(Im2col);
void im2col_nhwc_f32(const float* x, const Im2colShape& s, int64_t g, int64_t r0, int64_t r1,
                     float* col) {
  HWY_DYNAMIC_DISPATCH(Im2col)(x, s, g, r0, r1, col);
}
}  // namespace octet::simd
#endif  // HWY_ONCE
