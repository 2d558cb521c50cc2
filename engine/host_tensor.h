// A tensor owning its bytes: what users hand to and get from a Session.
#pragma once
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "engine/shape.h"

namespace octet {

struct HostTensor {
  std::string name;
  DType dtype = DType::kUndefined;
  Dims dims;
  std::vector<std::byte> bytes;

  template <typename T>
  static HostTensor from(std::string name, Dims dims, const std::vector<T>& values) {
    HostTensor t;
    t.name = std::move(name);
    t.dtype = dtype_of<T>();
    t.dims = std::move(dims);
    t.bytes.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
  }
  int64_t numel() const { return checked_numel(dims); }
  template <typename T>
  std::span<const T> values() const {
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  template <typename T>
  std::span<T> values() {
    return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
};

// Element i of a numeric tensor as double; throws for dtypes without numeric values.
double element_as_double(const HostTensor& t, int64_t i);
// Converts numeric values to `to` (e.g. u8 images to f32; integers saturate, NaN -> 0); the
// same dtype returns a copy.
HostTensor convert_dtype(const HostTensor& t, DType to);

}  // namespace octet
