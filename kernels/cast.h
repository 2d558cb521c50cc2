// Element type conversion (ONNX Cast) between f32, f64, f16, i8..u64 and bool.
// Float -> integer truncates toward zero; values outside the target range wrap as a
// conversion through int64 does (NaN and values beyond int64 give INT64_MIN first), the
// way numpy's casts behave on x86. Anything -> bool is (x != 0); bool -> number is 0/1.
// Float -> f16 rounds to nearest even (overflow gives inf). Packed i4/u4 (two values a
// byte, low nibble first) convert like i8/u8, keeping the low 4 bits when narrowing.
#pragma once
#include <cstdint>

#include "base/dtype.h"

namespace octet::kernels {

uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

// True when cast() supports the pair.
bool cast_supported(DType from, DType to);
void cast_reference(const void* src, DType from, void* dst, DType to, int64_t n);
void cast(const void* src, DType from, void* dst, DType to, int64_t n, int threads);

}  // namespace octet::kernels
