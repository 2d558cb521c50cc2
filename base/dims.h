// Concrete dimensions and the one checked element-count arithmetic every layer uses.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace octet {

// Concrete dimensions of a tensor at run time.
using Dims = std::vector<int64_t>;

// The most elements one tensor may hold. Every element count is computed by checked_numel,
// which refuses more, and refuses any partial product of the nonzero dims above it too (a
// zero dim does not make [0, 2^40, 2^40] safe: its strides would still overflow). So every
// stride and sub-product of a representable shape, and its size in bytes at up to 8 bytes per
// element, fit in int64 and size_t.
constexpr int64_t kMaxTensorElements = int64_t{1} << 48;

// Product of dims; throws octet::Error for a negative dim or more than kMaxTensorElements.
int64_t checked_numel(std::span<const int64_t> dims);
inline int64_t checked_numel(const Dims& dims) { return checked_numel(std::span<const int64_t>(dims)); }
// a * b for sizes beyond one tensor (scratch, totals); throws above kMaxTensorElements.
int64_t checked_mul(int64_t a, int64_t b);
std::string dims_to_string(const Dims& dims);

}  // namespace octet
