// Shapes: graph-level (dims may be symbolic) and concrete (run-time) forms.
#pragma once
#include <cstdint>
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

// Product of dims; throws octet::Error on overflow or negative dims.
int64_t checked_numel(const Dims& dims);
std::string dims_to_string(const Dims& dims);

}  // namespace octet
