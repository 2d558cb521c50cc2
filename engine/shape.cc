#include "engine/shape.h"

#include "base/error.h"

namespace octet {

Shape Shape::of(const Dims& d) {
  Shape s;
  s.has_rank = true;
  checked_numel(d);
  for (int64_t v : d) s.dims.push_back(Dim::known(v));
  return s;
}

bool Shape::is_concrete() const {
  if (!has_rank) return false;
  for (const Dim& d : dims)
    if (!d.is_known()) return false;
  return true;
}

Dims Shape::concrete() const {
  OCTET_CHECK(has_rank, "shape of unknown rank");
  Dims out;
  for (const Dim& d : dims) {
    OCTET_CHECK(d.is_known(), "dimension '", d.symbol.empty() ? "?" : d.symbol, "' of shape ",
                to_string(), " is not known");
    out.push_back(d.value);
  }
  return out;
}

std::string Shape::to_string() const {
  if (!has_rank) return "[?]";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    if (dims[i].is_known()) s += std::to_string(dims[i].value);
    else s += dims[i].symbol.empty() ? "?" : dims[i].symbol;
  }
  return s + "]";
}

void check_representable(const Shape& shape, const std::string& what) {
  Dims known;
  for (const Dim& d : shape.dims)
    if (d.is_known()) known.push_back(d.value);
  try {
    checked_numel(known);
  } catch (const Error& e) {
    fail(what, ": ", e.what());
  }
}

}  // namespace octet
