// Pieces shared by the encodings readers/writers (encodings_json.cc for 0.x/1.0.0,
// encodings_json_v2.cc for 2.x). Internal: not installed as API.
#pragma once
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "base/error.h"
#include "quant/encoding.h"
#include "quant/encodings_json.h"

namespace octet::quant::encodings_detail {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

inline constexpr size_t kMaxNameBytes = 4096;

// A JSON string literal for error messages and paths (escaped, never throws).
inline std::string json_quote(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

inline int64_t max_steps(int bitwidth) { return (int64_t{1} << bitwidth) - 1; }

inline bool is_strict_offset(int bitwidth, bool symmetric, int64_t offset) {
  return symmetric && offset == -((int64_t{1} << (bitwidth - 1)) - 1);
}

// The grid end points scale*offset and scale*(offset + N).
inline double grid_min(const Encoding& e) { return e.scale * static_cast<double>(e.offset); }
inline double grid_max(const Encoding& e) {
  return e.scale * static_cast<double>(int64_t{e.offset} + e.num_steps());
}

inline std::string scale_problem(double scale) {
  if (!std::isfinite(scale) || scale < static_cast<double>(FLT_MIN) ||
      scale > static_cast<double>(FLT_MAX)) {
    std::ostringstream out;
    out.precision(17);
    out << "scale must be a finite positive number representable as float32 (got " << scale << ")";
    return out.str();
  }
  return {};
}

inline std::string offset_problem(int bitwidth, int64_t offset) {
  int64_t lo = -max_steps(bitwidth);
  if (offset > 0 || offset < lo || offset < INT_MIN)
    return detail::concat("offset ", offset, " is outside [", std::max<int64_t>(lo, INT_MIN),
                          ", 0] for bitwidth ", bitwidth);
  return {};
}

// An encoding on the grid of (bitwidth, symmetric, scale, offset); min/max from the grid.
inline Encoding grid_encoding(int bitwidth, bool symmetric, double scale, int offset) {
  Encoding e;
  e.bitwidth = bitwidth;
  e.symmetric = symmetric;
  e.scale = scale;
  e.offset = offset;
  e.strict_symmetric = is_strict_offset(bitwidth, symmetric, offset);
  e.min = grid_min(e);
  e.max = grid_max(e);
  return e;
}

// The most memory the parsed document (nlohmann's DOM) may take, by the estimate below: a file
// within kMaxEncodingsFileBytes of tiny objects would otherwise take gigabytes.
inline constexpr size_t kMaxJsonDomBytes = size_t{2} << 30;

// Parses with a nesting bound and a bound on the parsed document's size (`max_dom_bytes`,
// estimated while parsing from the counts of values, keys and containers); errors name `source`.
json parse_json_text(const std::string& text, const std::string& source,
                     size_t max_dom_bytes = kMaxJsonDomBytes);

// 2.0.0 / 2.1.0 (encodings_json_v2.cc).
EncodingsFile parse_v2(const json& root, const std::string& version, const std::string& source);
ojson write_v2(const EncodingsFile& file);

}  // namespace octet::quant::encodings_detail
