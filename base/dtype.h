// Element types of tensors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace octet {

// Values are stored in .octet files: append only, never renumber.
enum class DType : uint8_t {
  kUndefined = 0,
  kF32 = 1,
  kF64 = 2,
  kF16 = 3,
  kI8 = 4,
  kU8 = 5,
  kI16 = 6,
  kU16 = 7,
  kI32 = 8,
  kU32 = 9,
  kI64 = 10,
  kU64 = 11,
  kBool = 12,
  kI4 = 13,  // two values per byte, low nibble first
  kU4 = 14,
};

// Bytes of one element; 0 for the packed 4-bit types and kUndefined.
size_t dtype_size(DType t);
std::string_view dtype_name(DType t);
bool dtype_is_float(DType t);
bool dtype_is_integer(DType t);
// Storage bytes of `count` elements (rounds packed 4-bit types up).
size_t dtype_storage_bytes(DType t, int64_t count);

template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::kF32; }
template <> constexpr DType dtype_of<double>() { return DType::kF64; }
template <> constexpr DType dtype_of<int8_t>() { return DType::kI8; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::kU8; }
template <> constexpr DType dtype_of<int16_t>() { return DType::kI16; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::kU16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::kI32; }
template <> constexpr DType dtype_of<uint32_t>() { return DType::kU32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::kI64; }
template <> constexpr DType dtype_of<uint64_t>() { return DType::kU64; }
template <> constexpr DType dtype_of<bool>() { return DType::kBool; }

}  // namespace octet
