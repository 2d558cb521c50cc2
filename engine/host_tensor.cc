#include "engine/host_tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "base/error.h"
#include "kernels/cast.h"

namespace octet {

namespace {
template <typename T>
double read_as(const HostTensor& t, int64_t i) {
  T v;
  std::memcpy(&v, t.bytes.data() + i * sizeof(T), sizeof(T));
  return static_cast<double>(v);
}
// Integers saturate (NaN -> 0): a conversion out of range would be undefined.
template <typename T>
void write_as(HostTensor& t, int64_t i, double v) {
  T x;
  if constexpr (std::is_integral_v<T>) {
    using limits = std::numeric_limits<T>;
    const double above = std::ldexp(1.0, limits::digits);  // max + 1, exact as a double
    x = std::isnan(v)                          ? T{0}
        : v >= above                           ? limits::max()
        : v < static_cast<double>(limits::lowest()) ? limits::lowest()
                                               : static_cast<T>(v);
  } else {
    x = static_cast<T>(v);
  }
  std::memcpy(t.bytes.data() + i * sizeof(T), &x, sizeof(T));
}
}  // namespace

double element_as_double(const HostTensor& t, int64_t i) {
  switch (t.dtype) {
    case DType::kF32: return read_as<float>(t, i);
    case DType::kF64: return read_as<double>(t, i);
    case DType::kF16: {
      uint16_t h;
      std::memcpy(&h, t.bytes.data() + i * sizeof h, sizeof h);
      return kernels::half_to_float(h);
    }
    case DType::kI8: return read_as<int8_t>(t, i);
    case DType::kU8: return read_as<uint8_t>(t, i);
    case DType::kI16: return read_as<int16_t>(t, i);
    case DType::kU16: return read_as<uint16_t>(t, i);
    case DType::kI32: return read_as<int32_t>(t, i);
    case DType::kU32: return read_as<uint32_t>(t, i);
    case DType::kI64: return read_as<int64_t>(t, i);
    case DType::kU64: return read_as<uint64_t>(t, i);
    case DType::kBool: return read_as<uint8_t>(t, i) ? 1.0 : 0.0;
    default: break;
  }
  fail("tensor '", t.name, "': ", dtype_name(t.dtype), " values cannot be read as numbers");
}

HostTensor convert_dtype(const HostTensor& t, DType to) {
  if (t.dtype == to) return t;
  HostTensor out;
  out.name = t.name;
  out.dtype = to;
  out.dims = t.dims;
  const int64_t n = t.numel();
  OCTET_CHECK(dtype_size(to) > 0 && dtype_size(t.dtype) > 0, "cannot convert ",
              dtype_name(t.dtype), " to ", dtype_name(to));
  out.bytes.resize(dtype_storage_bytes(to, n));
  for (int64_t i = 0; i < n; ++i) {
    double v = element_as_double(t, i);
    switch (to) {
      case DType::kF32: write_as<float>(out, i, v); break;
      case DType::kF64: write_as<double>(out, i, v); break;
      case DType::kF16: {
        const uint16_t h = kernels::float_to_half(static_cast<float>(v));
        std::memcpy(out.bytes.data() + i * sizeof h, &h, sizeof h);
        break;
      }
      case DType::kI8: write_as<int8_t>(out, i, v); break;
      case DType::kU8: write_as<uint8_t>(out, i, v); break;
      case DType::kI16: write_as<int16_t>(out, i, v); break;
      case DType::kU16: write_as<uint16_t>(out, i, v); break;
      case DType::kI32: write_as<int32_t>(out, i, v); break;
      case DType::kU32: write_as<uint32_t>(out, i, v); break;
      case DType::kI64: write_as<int64_t>(out, i, v); break;
      case DType::kU64: write_as<uint64_t>(out, i, v); break;
      case DType::kBool: write_as<uint8_t>(out, i, v != 0.0 ? 1 : 0); break;
      default: fail("cannot convert ", dtype_name(t.dtype), " to ", dtype_name(to));
    }
  }
  return out;
}

}  // namespace octet
