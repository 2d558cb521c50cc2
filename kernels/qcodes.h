// Small helpers shared by the 8-bit integer kernels (kernels/q*.cc): reading and writing u8 / i8
// codes through a dtype chosen at run time, and the matching simd::QCode.
#pragma once
#include <cstdint>

#include "base/dtype.h"
#include "simd/quantize.h"

namespace octet::kernels {

inline bool is_code8(DType t) { return t == DType::kU8 || t == DType::kI8; }
inline int32_t code8_min(DType t) { return t == DType::kU8 ? 0 : -128; }
inline int32_t code8_max(DType t) { return t == DType::kU8 ? 255 : 127; }
inline simd::QCode qcode_of(DType t) {
  return t == DType::kU8 ? simd::QCode::kU8 : simd::QCode::kI8;
}

// t is kU8 or kI8.
inline int32_t load_code(const void* p, DType t, int64_t i) {
  return t == DType::kU8 ? int32_t(static_cast<const uint8_t*>(p)[i])
                         : int32_t(static_cast<const int8_t*>(p)[i]);
}
// t is kU8, kI8, kU16 or kI16.
inline int32_t load_code_any(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::kU8: return static_cast<const uint8_t*>(p)[i];
    case DType::kI8: return static_cast<const int8_t*>(p)[i];
    case DType::kU16: return static_cast<const uint16_t*>(p)[i];
    default: return static_cast<const int16_t*>(p)[i];
  }
}
// v must lie in t's range.
inline void store_code(void* p, DType t, int64_t i, int32_t v) {
  if (t == DType::kU8) static_cast<uint8_t*>(p)[i] = uint8_t(v);
  else static_cast<int8_t*>(p)[i] = int8_t(v);
}
inline int32_t clamp_code(int64_t v, int32_t lo, int32_t hi) {
  return int32_t(v < lo ? lo : v > hi ? hi : v);
}

}  // namespace octet::kernels
