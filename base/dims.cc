#include "base/dims.h"

#include "base/error.h"

namespace octet {

int64_t checked_numel(std::span<const int64_t> dims) {
  int64_t nonzero = 1;
  bool any_zero = false;
  for (int64_t d : dims) {
    if (d < 0) fail("negative dimension in ", dims_to_string(Dims(dims.begin(), dims.end())));
    if (d == 0) {
      any_zero = true;
      continue;
    }
    if (d > kMaxTensorElements / nonzero)
      fail("shape ", dims_to_string(Dims(dims.begin(), dims.end())), " has more than 2^48 (",
           kMaxTensorElements, ") elements");
    nonzero *= d;
  }
  return any_zero ? 0 : nonzero;
}

int64_t checked_mul(int64_t a, int64_t b) {
  OCTET_CHECK(a >= 0 && b >= 0, "negative size ", a, " * ", b);
  if (a != 0 && b > kMaxTensorElements / a)
    fail("size ", a, " * ", b, " is more than 2^48 (", kMaxTensorElements, ")");
  return a * b;
}

std::string dims_to_string(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

}  // namespace octet
