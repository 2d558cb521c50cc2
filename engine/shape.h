// Shapes: graph-level (dims may be symbolic) and concrete (run-time) forms.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace octet {

// Concrete dimensions of a tensor at run time.
using Dims = std::vector<int64_t>;

// One dimension of a graph tensor: a known size, or a named unknown ("batch").
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // set when unknown and named

  static Dim known(int64_t v) { return Dim{v, {}}; }
  static Dim symbolic(std::string name) { return Dim{-1, std::move(name)}; }
  bool is_known() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
};

struct Shape {
  std::vector<Dim> dims;
  bool has_rank = false;  // false: rank unknown

  static Shape unknown() { return Shape{}; }
  static Shape of(const Dims& d);
  size_t rank() const { return dims.size(); }
  bool is_concrete() const;
  Dims concrete() const;  // throws if a dim is unknown
  std::string to_string() const;
  bool operator==(const Shape&) const = default;
};

// The most elements one tensor may hold. Every element count is computed by checked_numel,
// which refuses more, and refuses any partial product of the nonzero dims above it too (a
// zero dim does not make [0, 2^40, 2^40] safe: its strides would still overflow). So every
// stride and sub-product of a representable shape, and its size in bytes at up to 8 bytes per
// element, fit in int64 and size_t.
constexpr int64_t kMaxTensorElements = int64_t{1} << 48;

// Product of dims; throws octet::Error for a negative dim or more than kMaxTensorElements.
int64_t checked_numel(std::span<const int64_t> dims);
inline int64_t checked_numel(const Dims& dims) { return checked_numel(std::span<const int64_t>(dims)); }
// The known dims of a possibly symbolic shape must already be representable.
void check_representable(const Shape& shape, const std::string& what);
// a * b for sizes beyond one tensor (scratch, totals); throws above kMaxTensorElements.
int64_t checked_mul(int64_t a, int64_t b);
std::string dims_to_string(const Dims& dims);

}  // namespace octet
