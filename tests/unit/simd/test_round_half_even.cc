// simd::round_half_even is what every integer path rounds with; the portable form (clang 14 has
// no __builtin_roundevenf) must give the same bits as nearbyint in round-to-nearest mode, for
// every float, and must ignore the rounding mode the caller left set.
#include <doctest/doctest.h>

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>

#include "simd/round_half_even.h"

namespace {

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint32_t to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// nearbyint in FE_TONEAREST is round half to even; compared as bits (signed zeros count).
bool same_as_nearbyint(float x, float got) {
  const float want = std::nearbyint(x);
  if (std::isnan(want)) return std::isnan(got);
  return to_bits(want) == to_bits(got);
}

}  // namespace

TEST_CASE("round_half_even: ties go to the even neighbour, signs and specials kept") {
  using octet::simd::round_half_even;
  using octet::simd::round_half_even_portable;
  const struct {
    float x, want;
  } cases[] = {{0.5f, 0.f},   {1.5f, 2.f},   {2.5f, 2.f},     {-0.5f, -0.f},      {-1.5f, -2.f},
               {-2.5f, -2.f}, {0.49999997f, 0.f}, {0.50000006f, 1.f}, {8388607.5f, 8388608.f},
               {8388609.f, 8388609.f}, {-0.f, -0.f}, {1e-45f, 0.f}, {-3.4e38f, -3.4e38f}};
  for (const auto& c : cases) {
    CAPTURE(c.x);
    CHECK(to_bits(round_half_even_portable(c.x)) == to_bits(c.want));
    CHECK(to_bits(round_half_even(c.x)) == to_bits(c.want));
  }
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(round_half_even_portable(inf) == inf);
  CHECK(round_half_even_portable(-inf) == -inf);
  CHECK(std::isnan(round_half_even_portable(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("round_half_even: portable form equals nearbyint on every float (strided) and every tie") {
  using octet::simd::round_half_even;
  using octet::simd::round_half_even_portable;
  REQUIRE(std::fegetround() == FE_TONEAREST);
  // A stride coprime with 2^32 visits bit patterns spread over every exponent and sign.
  int64_t mismatches = 0, checked = 0;
  for (uint64_t i = 0; i < (uint64_t(1) << 32); i += 251) {
    const float x = from_bits(uint32_t(i));
    const float p = round_half_even_portable(x);
    mismatches += !same_as_nearbyint(x, p) || to_bits(p) != to_bits(round_half_even(x)) ? 1 : 0;
    ++checked;
  }
  // Every half-integer, its neighbours one ulp away, and the integers, for |x| < 2^23.
  for (int64_t n = -(int64_t(1) << 23); n < (int64_t(1) << 23); n += 3) {
    const float tie = float(n) + 0.5f;
    for (float x : {tie, std::nextafter(tie, -INFINITY), std::nextafter(tie, INFINITY), float(n)}) {
      mismatches += !same_as_nearbyint(x, round_half_even_portable(x)) ? 1 : 0;
      ++checked;
    }
  }
  CHECK(checked > 30'000'000);
  CHECK(mismatches == 0);
}

TEST_CASE("round_half_even: the result ignores the rounding mode the caller set") {
  using octet::simd::round_half_even;
  using octet::simd::round_half_even_portable;
  const float xs[] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 0.7f, -0.7f, 1234.5f, -8388607.5f, 3.49999976f};
  float want[std::size(xs)];
  for (size_t i = 0; i < std::size(xs); ++i) want[i] = std::nearbyint(xs[i]);
  for (int mode : {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO}) {
    REQUIRE(std::fesetround(mode) == 0);
    for (size_t i = 0; i < std::size(xs); ++i) {
      CAPTURE(xs[i]);
      CAPTURE(mode);
      CHECK(to_bits(round_half_even_portable(xs[i])) == to_bits(want[i]));
      CHECK(to_bits(round_half_even(xs[i])) == to_bits(want[i]));
    }
  }
  std::fesetround(FE_TONEAREST);
}
