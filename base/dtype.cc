#include "base/dtype.h"

#include "base/error.h"
#include "base/dims.h"

namespace octet {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF64: case DType::kI64: case DType::kU64: return 8;
    case DType::kF32: case DType::kI32: case DType::kU32: return 4;
    case DType::kF16: case DType::kI16: case DType::kU16: return 2;
    case DType::kI8: case DType::kU8: case DType::kBool: return 1;
    case DType::kI4: case DType::kU4: case DType::kUndefined: return 0;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kUndefined: return "undefined";
    case DType::kF32: return "f32";
    case DType::kF64: return "f64";
    case DType::kF16: return "f16";
    case DType::kI8: return "i8";
    case DType::kU8: return "u8";
    case DType::kI16: return "i16";
    case DType::kU16: return "u16";
    case DType::kI32: return "i32";
    case DType::kU32: return "u32";
    case DType::kI64: return "i64";
    case DType::kU64: return "u64";
    case DType::kBool: return "bool";
    case DType::kI4: return "i4";
    case DType::kU4: return "u4";
  }
  return "invalid";
}

bool dtype_is_float(DType t) { return t == DType::kF32 || t == DType::kF64 || t == DType::kF16; }

bool dtype_is_integer(DType t) {
  return !dtype_is_float(t) && t != DType::kUndefined && t != DType::kBool;
}

size_t dtype_storage_bytes(DType t, int64_t count) {
  OCTET_CHECK(count >= 0 && count <= kMaxTensorElements, "element count ", count,
              " is out of range (0 to 2^48)");
  if (t == DType::kI4 || t == DType::kU4) return static_cast<size_t>((count + 1) / 2);
  return dtype_size(t) * static_cast<size_t>(count);
}

}  // namespace octet
