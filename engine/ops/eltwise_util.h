// Shared helpers of the elementwise op bindings (activation_ops.cc, binary_ops.cc).
#pragma once
#include <cstdint>
#include <string_view>

#include "base/dtype.h"
#include "engine/op.h"

namespace octet::eltwise {

// The integer element types (bool is stored as uint8_t).
inline bool is_int_type(DType t) {
  switch (t) {
    case DType::kI8: case DType::kU8: case DType::kI16: case DType::kU16:
    case DType::kI32: case DType::kU32: case DType::kI64: case DType::kU64:
      return true;
    default:
      return false;
  }
}
inline bool is_signed_int_type(DType t) {
  return t == DType::kI8 || t == DType::kI16 || t == DType::kI32 || t == DType::kI64;
}
// f32 or an integer type: what the arithmetic kernels are built for.
inline bool is_numeric_type(DType t) { return t == DType::kF32 || is_int_type(t); }

// Calls fn(T{}) with the C++ type of `t` (f32 and integer types; bool as uint8_t).
// Returns false for other dtypes.
template <class Fn>
bool dispatch_numeric(DType t, Fn&& fn) {
  switch (t) {
    case DType::kF32: fn(float{}); return true;
    case DType::kI8: fn(int8_t{}); return true;
    case DType::kU8: case DType::kBool: fn(uint8_t{}); return true;
    case DType::kI16: fn(int16_t{}); return true;
    case DType::kU16: fn(uint16_t{}); return true;
    case DType::kI32: fn(int32_t{}); return true;
    case DType::kU32: fn(uint32_t{}); return true;
    case DType::kI64: fn(int64_t{}); return true;
    case DType::kU64: fn(uint64_t{}); return true;
    default: return false;
  }
}

}  // namespace octet::eltwise
