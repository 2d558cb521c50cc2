// Shapes: graph-level (dims may be symbolic) and concrete (run-time) forms.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/dims.h"

namespace octet {

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

// The known dims of a possibly symbolic shape must already be representable.
void check_representable(const Shape& shape, const std::string& what);
}  // namespace octet
