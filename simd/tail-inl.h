// Partial-vector loads and stores of f32 tails that never touch memory past n elements.
// A per-target header (Highway's -inl.h convention): include it inside a file compiled for
// every target, after hwy/highway.h. AVX2 and AVX-512 have true masked accesses; older
// targets emulate them with full-width accesses, so those go through a small buffer.
#if defined(OCTET_SIMD_TAIL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef OCTET_SIMD_TAIL_INL_H_
#undef OCTET_SIMD_TAIL_INL_H_
#else
#define OCTET_SIMD_TAIL_INL_H_
#endif

#include <cstring>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {

#if HWY_TARGET <= HWY_AVX2
constexpr bool kSafeMasked = true;
#else
constexpr bool kSafeMasked = false;
#endif

template <class D>
HWY_INLINE hwy::HWY_NAMESPACE::Vec<D> LoadTail(D d, const float* HWY_RESTRICT p, size_t n) {
  namespace hn = hwy::HWY_NAMESPACE;
  if constexpr (kSafeMasked) {
    return hn::MaskedLoad(hn::FirstN(d, n), d, p);
  } else {
    HWY_ALIGN float buf[hn::MaxLanes(D())] = {};
    std::memcpy(buf, p, n * sizeof(float));
    return hn::Load(d, buf);
  }
}

template <class D>
HWY_INLINE void StoreTail(hwy::HWY_NAMESPACE::Vec<D> v, D d, float* HWY_RESTRICT p, size_t n) {
  namespace hn = hwy::HWY_NAMESPACE;
  if constexpr (kSafeMasked) {
    hn::BlendedStore(v, hn::FirstN(d, n), d, p);
  } else {
    HWY_ALIGN float buf[hn::MaxLanes(D())];
    hn::Store(v, d, buf);
    std::memcpy(p, buf, n * sizeof(float));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#endif  // OCTET_SIMD_TAIL_INL_H_ toggle
