// Zero-copy xtensor views of a HostTensor's elements, for C++ users who work on a session's
// inputs and outputs with xtensor. Header-only and optional: the octet library does not use
// xtensor; a program that includes this header finds and links xtensor itself
// (find_package(xtensor), target `xtensor`).
#pragma once
#include <cstddef>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "base/error.h"
#include "engine/host_tensor.h"

namespace octet {
namespace detail {

template <typename T>
std::vector<std::size_t> checked_view_shape(const HostTensor& t) {
  if (t.dtype != dtype_of<T>())
    fail("tensor '", t.name, "': an xtensor view of ", dtype_name(dtype_of<T>()),
         " elements was asked for a ", dtype_name(t.dtype), " tensor");
  const int64_t n = t.numel();
  if (t.bytes.size() != static_cast<std::size_t>(n) * sizeof(T))
    fail("tensor '", t.name, "': holds ", t.bytes.size(), " bytes, its shape ",
         dims_to_string(t.dims), " needs ", n * static_cast<int64_t>(sizeof(T)));
  return {t.dims.begin(), t.dims.end()};
}

}  // namespace detail

// A view whose writes go to the tensor's bytes. The tensor must outlive the view and keep its
// size.
template <typename T>
auto xtensor_view(HostTensor& t) {
  const std::vector<std::size_t> shape = detail::checked_view_shape<T>(t);
  return xt::adapt(t.values<T>().data(), t.values<T>().size(), xt::no_ownership(), shape);
}

template <typename T>
auto xtensor_view(const HostTensor& t) {
  const std::vector<std::size_t> shape = detail::checked_view_shape<T>(t);
  return xt::adapt(t.values<T>().data(), t.values<T>().size(), xt::no_ownership(), shape);
}

}  // namespace octet
