#include "kernels/cast.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "base/error.h"
#include "kernels/parallel.h"

namespace octet::kernels {

uint16_t float_to_half(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    // value = abs_float; half subnormal unit is 2^-24.
    const float a = std::bit_cast<float>(abs);
    // Scale so the result is an integer count of 2^-24 units, rounded half to even.
    const float scaled = a * 16777216.0f;  // exact (power of two)
    const float r = std::nearbyint(scaled);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(r));
  }
  // Normal: rebias exponent (127 -> 15), round mantissa 23 -> 10 bits to nearest even.
  uint32_t m = abs - (112u << 23);
  const uint32_t lsb = (m >> 13) & 1u;
  m += 0xfffu + lsb;
  return static_cast<uint16_t>(sign | (m >> 13));
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (exp == 0) {
    float v = static_cast<float>(man) * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (man << 13));
}

namespace {

struct Half {
  uint16_t bits;
};

template <typename T>
constexpr bool kIsFloat = std::is_floating_point_v<T> || std::is_same_v<T, Half>;

template <typename From>
inline auto widen(From v) {
  if constexpr (std::is_same_v<From, Half>) return half_to_float(v.bits);
  else return v;
}

template <typename To, typename From>
inline To convert(From in) {
  const auto v = widen(in);
  using V = decltype(v);
  if constexpr (std::is_same_v<To, bool>) {
    return v != V(0);
  } else if constexpr (std::is_same_v<To, Half>) {
    return Half{float_to_half(static_cast<float>(v))};
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(v);
  } else if constexpr (std::is_floating_point_v<V>) {
    // Float -> integer: truncate; out of range wraps through int64 (no UB).
    const double d = static_cast<double>(v);
    if constexpr (std::is_same_v<To, uint64_t>) {
      if (d >= 9223372036854775808.0 && d < 18446744073709551616.0)
        return static_cast<uint64_t>(d);
    }
    int64_t i;
    if (d > -9223372036854775808.0 - 1.0 && d < 9223372036854775808.0) i = static_cast<int64_t>(d);
    else i = INT64_MIN;
    return static_cast<To>(i);
  } else {
    return static_cast<To>(v);  // integer/bool -> integer: modular (C++20)
  }
}

template <typename From, typename To>
void cast_loop(const void* src, void* dst, int64_t begin, int64_t end) {
  const From* s = static_cast<const From*>(src);
  To* d = static_cast<To*>(dst);
  for (int64_t i = begin; i < end; ++i) d[i] = convert<To>(s[i]);
}

using CastFn = void (*)(const void*, void*, int64_t, int64_t);

template <typename From>
CastFn pick_to(DType to) {
  switch (to) {
    case DType::kF32: return cast_loop<From, float>;
    case DType::kF64: return cast_loop<From, double>;
    case DType::kF16: return cast_loop<From, Half>;
    case DType::kI8: return cast_loop<From, int8_t>;
    case DType::kU8: return cast_loop<From, uint8_t>;
    case DType::kI16: return cast_loop<From, int16_t>;
    case DType::kU16: return cast_loop<From, uint16_t>;
    case DType::kI32: return cast_loop<From, int32_t>;
    case DType::kU32: return cast_loop<From, uint32_t>;
    case DType::kI64: return cast_loop<From, int64_t>;
    case DType::kU64: return cast_loop<From, uint64_t>;
    case DType::kBool: return cast_loop<From, bool>;
    default: return nullptr;
  }
}

CastFn pick(DType from, DType to) {
  switch (from) {
    case DType::kF32: return pick_to<float>(to);
    case DType::kF64: return pick_to<double>(to);
    case DType::kF16: return pick_to<Half>(to);
    case DType::kI8: return pick_to<int8_t>(to);
    case DType::kU8: return pick_to<uint8_t>(to);
    case DType::kI16: return pick_to<int16_t>(to);
    case DType::kU16: return pick_to<uint16_t>(to);
    case DType::kI32: return pick_to<int32_t>(to);
    case DType::kU32: return pick_to<uint32_t>(to);
    case DType::kI64: return pick_to<int64_t>(to);
    case DType::kU64: return pick_to<uint64_t>(to);
    case DType::kBool: return pick_to<bool>(to);
    default: return nullptr;
  }
}

CastFn require(DType from, DType to) {
  CastFn f = pick(from, to);
  OCTET_CHECK(f, "Cast from ", dtype_name(from), " to ", dtype_name(to), " is not supported");
  return f;
}

}  // namespace

namespace {

bool is_4bit(DType t) { return t == DType::kI4 || t == DType::kU4; }

// Casts involving packed 4-bit types go through 8-bit (from) or int64 (to) values in
// chunks: unpacking sign- or zero-extends; packing keeps the low 4 bits (wraps, as ONNX's
// reference does for integers out of range).
void cast_4bit(const void* src, DType from, void* dst, DType to, int64_t n) {
  constexpr int64_t kChunk = 1024;
  std::vector<int8_t> narrow(kChunk);
  std::vector<int64_t> wide(kChunk);
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  const DType mid_from = from == DType::kI4 ? DType::kI8 : from == DType::kU4 ? DType::kU8 : from;
  const DType mid_to = is_4bit(to) ? DType::kI64 : to;
  CastFn f = require(mid_from, mid_to);
  const size_t to_size = dtype_size(to), from_size = dtype_size(from);
  for (int64_t b = 0; b < n; b += kChunk) {
    const int64_t m = std::min(kChunk, n - b);
    const void* in = s + b * static_cast<int64_t>(from_size);
    if (is_4bit(from)) {
      for (int64_t i = 0; i < m; ++i) {
        const int64_t k = b + i;
        uint8_t v = (s[k / 2] >> ((k % 2) * 4)) & 0xf;
        narrow[i] = from == DType::kI4 && (v & 0x8) ? static_cast<int8_t>(v | 0xf0)
                                                     : static_cast<int8_t>(v);
      }
      in = narrow.data();
    }
    if (is_4bit(to)) {
      f(in, wide.data(), 0, m);
      for (int64_t i = 0; i < m; ++i) {
        const int64_t k = b + i;
        const uint8_t v = static_cast<uint8_t>(wide[i]) & 0xf;
        if (k % 2 == 0) d[k / 2] = v;
        else d[k / 2] = static_cast<uint8_t>((d[k / 2] & 0x0f) | (v << 4));
      }
    } else {
      f(in, d + b * static_cast<int64_t>(to_size), 0, m);
    }
  }
}

}  // namespace

bool cast_supported(DType from, DType to) {
  auto mid = [](DType t) {
    return t == DType::kI4 ? DType::kI8 : t == DType::kU4 ? DType::kU8 : t;
  };
  return pick(mid(from), mid(to)) != nullptr;
}

void cast_reference(const void* src, DType from, void* dst, DType to, int64_t n) {
  if (is_4bit(from) || is_4bit(to)) return cast_4bit(src, from, dst, to, n);
  require(from, to)(src, dst, 0, n);
}

void cast(const void* src, DType from, void* dst, DType to, int64_t n, int threads) {
  if (is_4bit(from) || is_4bit(to)) return cast_4bit(src, from, dst, to, n);
  CastFn f = require(from, to);
  constexpr int64_t kChunk = 16384;
  if (n <= kChunk || threads <= 1) {
    f(src, dst, 0, n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, threads, [&](int64_t c, int) {
    f(src, dst, c * kChunk, std::min(n, (c + 1) * kChunk));
  });
}

}  // namespace octet::kernels
