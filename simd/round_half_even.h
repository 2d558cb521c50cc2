#pragma once
// Round to nearest, ties to even, whatever the floating-point environment's rounding mode.
// GCC has __builtin_roundevenf; Debian 12's clang 14 does not, so it gets the portable form,
// which tests/unit/simd/test_round_half_even.cc checks against the builtin and against nearbyint.
#include <cmath>

namespace octet::simd {

// trunc and fmod are exact and ignore the rounding mode; x - trunc(x) is exact (it keeps x's
// low mantissa bits), so every step below is exact.
inline float round_half_even_portable(float x) {
  // From 2^23 on every float is an integer; + 0 quiets a signalling NaN as the builtin does.
  if (!(std::fabs(x) < 8388608.f)) return x + 0.f;
  const float t = std::trunc(x);
  const float frac = std::fabs(x - t);
  if (frac > 0.5f || (frac == 0.5f && std::fmod(t, 2.0f) != 0.0f)) return t + std::copysign(1.0f, x);
  return t;
}

#if defined(__has_builtin)
#if __has_builtin(__builtin_roundevenf)
#define OCTET_HAS_BUILTIN_ROUNDEVENF 1
#endif
#endif

inline float round_half_even(float x) {
#ifdef OCTET_HAS_BUILTIN_ROUNDEVENF
  return __builtin_roundevenf(x);
#else
  return round_half_even_portable(x);
#endif
}

}  // namespace octet::simd
