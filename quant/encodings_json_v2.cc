// AIMET encodings 2.0.0 / 2.1.0 (AIMET docs, "Encoding Format Specification"): a top level
// {"version", "encodings": [...]} whose entries are onnx::QuantizeLinear's inputs and attributes
// (name, output_dtype, y_scale, y_zero_point, axis, block_size); 2.0.0 LPBQ entries give
// per_block_int_scale and per_channel_float_scale instead of y_scale; 2.1.0 lets y_scale be a
// "meta encoding" {x, x_scale, x_zero_point, input_dtype, axis, block_size} (a dequantized
// scale). See encodings_json.h for how the entries map onto Encoding.
#include <set>

#include "engine/shape.h"
#include "quant/encodings_json_detail.h"

namespace octet::quant::encodings_detail {
namespace {

constexpr size_t kMaxRank = 8;
// The integer widths output_dtype names (int2 ... uint32).
constexpr int kV2Bitwidths[] = {2, 4, 8, 16, 32};

bool is_v2_bitwidth(int bw) {
  for (int b : kV2Bitwidths)
    if (b == bw) return true;
  return false;
}

// A nested list of numbers (or one number: rank 0), flattened row-major.
struct Nd {
  std::vector<double> v;
  std::vector<int64_t> shape;
};

class V2Reader {
 public:
  V2Reader(const std::string& source, const std::string& version, EncodingsFile& f)
      : source_(source), version_(version), f_(f) {}

  [[noreturn]] void error(const std::string& path, const std::string& what) const {
    fail(source_, ": ", path, ": ", what);
  }
  void warn(const std::string& path, const std::string& what) const {
    f_.warnings.push_back(source_ + ": " + path + ": " + what);
  }

  Nd nested(const json& j, const std::string& path) const {
    Nd out;
    collect(j, path, 0, out);
    return out;
  }

  int64_t integer(const json& j, const std::string& path, int64_t lo, int64_t hi) const {
    if (!j.is_number()) error(path, detail::concat("expected an integer, got ", j.type_name()));
    const double d = j.get<double>();
    if (!std::isfinite(d) || d != std::floor(d)) error(path, "expected an integer");
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
      error(path, detail::concat("value ", d, " is outside [", lo, ", ", hi, "]"));
    return static_cast<int64_t>(d);
  }

  // "int8" -> (8, signed); "uint4" -> (4, unsigned); float dtypes -> bitwidth 0.
  std::pair<int, bool> dtype(const std::string& s, const std::string& path) const {
    for (const char* prefix : {"uint", "int"}) {
      const std::string p = prefix;
      if (s.rfind(p, 0) != 0) continue;
      const std::string bits = s.substr(p.size());
      for (int b : kV2Bitwidths)
        if (bits == std::to_string(b)) return {b, p == "int"};
    }
    if (s == "float16" || s == "float32") return {0, false};
    if (s.rfind("float", 0) == 0)
      error(path, "float-quantized encodings (" + json_quote(s) + ") are not supported");
    error(path, "expected int2/4/8/16/32, uint2/4/8/16/32 or a float type, got " + json_quote(s));
  }

  void parse(const json& root) {
    for (auto it = root.begin(); it != root.end(); ++it)
      if (it.key() != "version" && it.key() != "encodings" && it.key() != "producer")
        warn(json_quote(it.key()), "unknown top-level key, ignored");
    if (const auto p = root.find("producer"); p != root.end())
      f_.producer = p->dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 256);
    const auto it = root.find("encodings");
    if (it == root.end()) {
      if (root.contains("activation_encodings") || root.contains("param_encodings"))
        error("version", "a " + version_ + " file has one \"encodings\" list; this one has "
                         "activation_encodings/param_encodings (the 0.6.1/1.0.0 layout): is the "
                         "\"version\" right?");
      error("encodings", "missing");
    }
    const json& list = *it;
    if (!list.is_array()) error("encodings", detail::concat("expected a list, got ", list.type_name()));
    if (list.size() > kMaxEncodingsTensors)
      error("encodings", detail::concat("more than ", kMaxEncodingsTensors, " tensors"));
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) entry(list[i], "encodings[" + std::to_string(i) + "]", seen);
  }

 private:
  void collect(const json& j, const std::string& path, size_t depth, Nd& out) const {
    if (depth == 0) {  // the shape from the first elements, then every element checked against it
      out.shape.clear();
      for (const json* p = &j; p->is_array(); p = &(*p)[0]) {
        if (out.shape.size() >= kMaxRank)
          error(path, detail::concat("nested deeper than ", kMaxRank, " levels"));
        if (p->empty()) error(path, "empty list");
        out.shape.push_back(static_cast<int64_t>(p->size()));
      }
      int64_t n = 1;
      for (int64_t d : out.shape) {
        n *= d;
        if (n > static_cast<int64_t>(kMaxEncodingsPerTensor))
          error(path, detail::concat("more than ", kMaxEncodingsPerTensor, " values"));
      }
      out.v.reserve(size_t(n));
    }
    if (depth == out.shape.size()) {
      if (!j.is_number())
        error(path, j.is_array() ? std::string("not a rectangular nested list")
                                 : detail::concat("expected a number, got ", j.type_name()));
      const double d = j.get<double>();
      if (!std::isfinite(d)) error(path, "expected a finite number");
      out.v.push_back(d);
      return;
    }
    if (!j.is_array() || static_cast<int64_t>(j.size()) != out.shape[depth])
      error(path, "not a rectangular nested list");
    for (size_t k = 0; k < j.size(); ++k)
      collect(j[k], path + "[" + std::to_string(k) + "]", depth + 1, out);
  }

  // `b` with rank 1 placed along `axis` of a rank-`rank` array.
  static Nd along(const Nd& b, size_t rank, size_t axis) {
    Nd r = b;
    r.shape.assign(rank, 1);
    r.shape[axis] = static_cast<int64_t>(b.v.size());
    return r;
  }

  // a op b with NumPy broadcasting (shapes aligned on the right).
  template <typename Op>
  Nd broadcast(const Nd& a, const Nd& b, const std::string& path, Op op) const {
    const size_t rank = std::max(a.shape.size(), b.shape.size());
    std::vector<int64_t> as(rank, 1), bs(rank, 1), shape(rank);
    std::copy(a.shape.begin(), a.shape.end(), as.begin() + long(rank - a.shape.size()));
    std::copy(b.shape.begin(), b.shape.end(), bs.begin() + long(rank - b.shape.size()));
    for (size_t d = 0; d < rank; ++d) {
      if (as[d] != bs[d] && as[d] != 1 && bs[d] != 1)
        error(path, detail::concat("shapes do not broadcast (dim ", d, ": ", as[d], " vs ", bs[d], ")"));
      shape[d] = std::max(as[d], bs[d]);
    }
    Nd out;
    out.shape = shape;
    int64_t n = checked_numel(shape);
    if (n > static_cast<int64_t>(kMaxEncodingsPerTensor)) error(path, "too many values");
    out.v.resize(size_t(n));
    std::vector<int64_t> idx(rank, 0);
    for (int64_t k = 0; k < n; ++k) {
      int64_t ia = 0, ib = 0;
      for (size_t d = 0; d < rank; ++d) {
        ia = ia * as[d] + (as[d] == 1 ? 0 : idx[d]);
        ib = ib * bs[d] + (bs[d] == 1 ? 0 : idx[d]);
      }
      out.v[size_t(k)] = op(a.v[size_t(ia)], b.v[size_t(ib)]);
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  }

  std::optional<int64_t> opt_int(const json& e, const char* key, const std::string& path,
                                 int64_t lo, int64_t hi) const {
    const auto it = e.find(key);
    if (it == e.end()) return std::nullopt;
    return integer(*it, path + "." + key, lo, hi);
  }

  // 2.1.0 meta encoding: y_scale = (x - x_zero_point) * x_scale.
  Nd meta_scale(const json& m, const std::string& path) const {
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it.key() != "x" && it.key() != "x_scale" && it.key() != "x_zero_point" &&
          it.key() != "input_dtype" && it.key() != "axis" && it.key() != "block_size")
        warn(path + "." + it.key(), "unknown key, ignored");
    if (const auto d = m.find("input_dtype"); d != m.end()) {
      if (!d->is_string()) error(path + ".input_dtype", "expected a string");
      if (d->get<std::string>().rfind("float", 0) == 0)
        error(path + ".input_dtype", "float-quantized scales (" + json_quote(d->get<std::string>()) +
                                         ", e.g. NVFP4) are not supported");
    }
    if (m.contains("block_size")) error(path + ".block_size", "blocked meta scales are not supported");
    if (!m.contains("x")) error(path, "missing key \"x\"");
    if (!m.contains("x_scale")) error(path, "missing key \"x_scale\"");
    Nd x = nested(m.at("x"), path + ".x");
    for (double v : x.v)
      if (v != std::floor(v)) error(path + ".x", "expected integers (float x needs input_dtype)");
    const std::optional<int64_t> axis = opt_int(m, "axis", path, 0, int64_t(kMaxRank) - 1);
    auto shaped = [&](const Nd& s, const std::string& p) {
      if (s.shape.size() == 1 && x.shape.size() > 1) {
        if (!axis) error(p, "a 1-D list needs the meta encoding's \"axis\"");
        if (size_t(*axis) >= x.shape.size() || x.shape[size_t(*axis)] != int64_t(s.v.size()))
          error(p, detail::concat("has ", s.v.size(), " values for axis ", *axis, " of x"));
        return along(s, x.shape.size(), size_t(*axis));
      }
      return s;
    };
    if (m.contains("x_zero_point")) {
      const Nd zp = shaped(nested(m.at("x_zero_point"), path + ".x_zero_point"), path + ".x_zero_point");
      x = broadcast(x, zp, path, [](double a, double b) { return a - b; });
    }
    const Nd xs = shaped(nested(m.at("x_scale"), path + ".x_scale"), path + ".x_scale");
    return broadcast(x, xs, path, [](double a, double b) { return a * b; });
  }

  // 2.0.0 LPBQ: y_scale = per_block_int_scale * per_channel_float_scale.
  Nd lpbq_scale(const json& e, const std::string& path, std::optional<int64_t> block_axis) const {
    const Nd ints = nested(e.at("per_block_int_scale"), path + ".per_block_int_scale");
    for (double v : ints.v)
      if (v != std::floor(v) || v < 1) error(path + ".per_block_int_scale", "expected positive integers");
    if (!e.contains("per_channel_float_scale")) error(path, "missing key \"per_channel_float_scale\"");
    Nd ch = nested(e.at("per_channel_float_scale"), path + ".per_channel_float_scale");
    if (ch.shape.size() == 1 && ints.shape.size() > 1) {
      // The channel axis is the dimension of the int scales of the same length (not the block axis).
      std::vector<size_t> dims;
      for (size_t d = 0; d < ints.shape.size(); ++d)
        if (ints.shape[d] == int64_t(ch.v.size()) && (!block_axis || int64_t(d) != *block_axis))
          dims.push_back(d);
      if (dims.size() != 1)
        error(path + ".per_channel_float_scale", "cannot tell the channel axis from the shapes");
      ch = along(ch, ints.shape.size(), dims[0]);
    }
    return broadcast(ints, ch, path, [](double a, double b) { return a * b; });
  }

  void entry(const json& e, const std::string& at, std::set<std::string>& seen) {
    if (!e.is_object()) error(at, detail::concat("expected an object, got ", e.type_name()));
    const auto name_it = e.find("name");
    if (name_it == e.end()) error(at, "missing key \"name\"");
    if (!name_it->is_string()) error(at + ".name", "expected a string");
    const std::string name = name_it->get<std::string>();
    if (name.empty() || name.size() > kMaxNameBytes) error(at + ".name", "empty or overlong tensor name");
    const std::string path = at + " (" + json_quote(name) + ")";
    if (!seen.insert(name).second) error(path, "duplicate name " + json_quote(name));
    static const char* const keys[] = {"name", "output_dtype", "y_scale", "y_zero_point", "axis",
                                       "block_size", "per_block_int_scale",
                                       "per_channel_float_scale"};
    for (auto it = e.begin(); it != e.end(); ++it) {
      bool k = false;
      for (const char* n : keys) k = k || it.key() == n;
      if (!k) warn(path + "." + it.key(), "unknown key, ignored");
    }
    const auto dt = e.find("output_dtype");
    if (dt == e.end()) error(path, "missing key \"output_dtype\"");
    if (!dt->is_string()) error(path + ".output_dtype", "expected a string");
    const auto [bw, is_signed] = dtype(dt->get<std::string>(), path + ".output_dtype");
    if (bw == 0) {  // float16 / float32: a float tensor, no grid
      f_.float_activation_encodings[name] = dt->get<std::string>() == "float16" ? 16 : 32;
      return;
    }
    const std::optional<int64_t> axis = opt_int(e, "axis", path, 0, int64_t(kMaxRank) - 1);
    const std::optional<int64_t> block = opt_int(e, "block_size", path, 1, INT_MAX);
    Nd scale;
    if (e.contains("per_block_int_scale")) {
      scale = lpbq_scale(e, path, block ? axis : std::nullopt);
    } else {
      const auto ys = e.find("y_scale");
      if (ys == e.end()) error(path, "missing key \"y_scale\"");
      if (ys->is_object()) {
        if (version_ == "2.0.0")
          error(path + ".y_scale", "a meta encoding (object) needs version 2.1.0");
        scale = meta_scale(*ys, path + ".y_scale");
      } else {
        scale = nested(*ys, path + ".y_scale");
      }
    }
    Nd zp{std::vector<double>(scale.v.size(), 0.0), scale.shape};
    if (const auto z = e.find("y_zero_point"); z != e.end()) {
      const Nd given = nested(*z, path + ".y_zero_point");
      zp = broadcast(scale, given, path + ".y_zero_point", [](double, double b) { return b; });
      if (zp.v.size() != scale.v.size())
        error(path + ".y_zero_point", "has more values than y_scale");
      for (double v : zp.v) {
        if (v != std::floor(v))
          error(path + ".y_zero_point", "fractional zero points (int2 custom grids) are not supported");
        // Beyond any 32-bit code type; bounded before the conversion to an integer below.
        if (!(std::fabs(v) <= 4294967296.0))
          error(path + ".y_zero_point", detail::concat("zero point ", v, " is outside every ",
                                                      "integer type an encoding can name"));
      }
    }
    TensorEncoding te;
    if (block) {
      if (!axis) error(path, "block_size needs \"axis\" (the block axis)");
      te.axis = int(*axis);
      te.block_size = int(*block);
    } else if (scale.v.size() == 1 && !axis) {
      te.axis = -1;
    } else {
      if (!axis) error(path, detail::concat("y_scale has ", scale.v.size(), " values but no \"axis\""));
      if (scale.shape.size() > 1) error(path + ".y_scale", "per-channel scales must be a flat list");
      te.axis = int(*axis);
    }
    const int64_t qmin = is_signed ? -(int64_t{1} << (bw - 1)) : 0;
    for (size_t k = 0; k < scale.v.size(); ++k) {
      const std::string idx = path + ".y_scale[" + std::to_string(k) + "]";
      if (auto p = scale_problem(scale.v[k]); !p.empty()) error(idx, p);
      const int64_t offset = qmin - static_cast<int64_t>(zp.v[k]);
      if (auto p = offset_problem(bw, offset); !p.empty())
        error(path + ".y_zero_point", detail::concat("zero point ", zp.v[k], " is outside ",
                                                    dt->get<std::string>(), " (", p, ")"));
      te.encodings.push_back(grid_encoding(bw, is_signed, scale.v[k], static_cast<int>(offset)));
    }
    f_.activation_encodings[name] = std::move(te);
  }

  const std::string& source_;
  const std::string& version_;
  EncodingsFile& f_;
};

template <typename T>
ojson nested_json(const std::vector<T>& v, const std::vector<int64_t>& shape, size_t d, size_t& k) {
  if (d == shape.size()) return v[k++];
  ojson a = ojson::array();
  for (int64_t i = 0; i < shape[d]; ++i) a.push_back(nested_json(v, shape, d + 1, k));
  return a;
}

}  // namespace

EncodingsFile parse_v2(const json& root, const std::string& version, const std::string& source) {
  EncodingsFile f;
  f.version = version;
  V2Reader(source, version, f).parse(root);
  return f;
}

ojson write_v2(const EncodingsFile& file) {
  ojson root = ojson::object();
  root["version"] = "2.0.0";
  ojson list = ojson::array();
  OCTET_CHECK(file.lpbq_param_encodings.empty(),
              "LPBQ encodings are written in the 1.0.0 format only");
  // One list, one entry per name, in name order: the format has no sections, so a file read
  // back (everything in activation_encodings) writes the same list again.
  std::map<std::string, const TensorEncoding*> by_name;
  for (const auto& [name, te] : file.activation_encodings) by_name[name] = &te;
  for (const auto& [name, te] : file.param_encodings) {
    // A legacy file may name a tensor in both sections.
    OCTET_CHECK(!file.activation_encodings.count(name), "encodings[", json_quote(name),
                "]: the tensor has both an activation and a parameter encoding; 2.0.0 ",
                "holds one encoding per name (write 0.6.1 or 1.0.0)");
    by_name[name] = &te;
  }
  for (const auto& [name, te_ptr] : by_name) {
    const TensorEncoding& te = *te_ptr;
    const std::string label = "encodings[" + json_quote(name) + "]";
    OCTET_CHECK(!name.empty(), "encodings: empty tensor name");
    OCTET_CHECK(!te.encodings.empty(), label, ": no encodings");
    const Encoding& first = te.encodings.front();
    const int bw = first.bitwidth;
    OCTET_CHECK(bw >= kMinBitwidth && bw <= kMaxFileBitwidth, label, ": bitwidth ", bw,
                " is outside [", kMinBitwidth, ", ", kMaxFileBitwidth, "]");
    OCTET_CHECK(is_v2_bitwidth(bw), label, ": bitwidth ", bw,
                " has no output_dtype in the 2.0.0 format (int/uint 2, 4, 8, 16 or 32); "
                "write 0.6.1 or 1.0.0");
    const bool is_signed = first.symmetric;
    const int64_t qmin = is_signed ? -(int64_t{1} << (bw - 1)) : 0;
    std::vector<double> scales;
    std::vector<int64_t> zps;
    bool any_zp = false;
    for (size_t i = 0; i < te.encodings.size(); ++i) {
      const Encoding& e = te.encodings[i];
      const std::string at = detail::concat(label, "[", i, "]");
      OCTET_CHECK(e.bitwidth == bw && e.symmetric == is_signed, at,
                  ": bitwidth/is_symmetric differ from the first encoding's");
      if (auto p = scale_problem(e.scale); !p.empty()) fail(at, ": ", p);
      if (auto p = offset_problem(e.bitwidth, e.offset); !p.empty()) fail(at, ": ", p);
      scales.push_back(e.scale);
      zps.push_back(qmin - int64_t{e.offset});
      any_zp = any_zp || zps.back() != 0;
    }
    ojson o = ojson::object();
    o["name"] = name;
    o["output_dtype"] = std::string(is_signed ? "int" : "uint") + std::to_string(bw);
    std::vector<int64_t> shape;
    if (te.block_size > 0) {
      const auto s = file.shapes.find(name);
      OCTET_CHECK(s != file.shapes.end(), label,
                  ": per-block encodings need the tensor's shape to be written in 2.0.0");
      OCTET_CHECK(te.axis >= 0 && size_t(te.axis) < s->second.size(), label, ": block axis ",
                  te.axis, " is outside the tensor's rank");
      shape = s->second;
      shape[size_t(te.axis)] = (shape[size_t(te.axis)] + te.block_size - 1) / te.block_size;
      int64_t n = checked_numel(shape);
      OCTET_CHECK(n == int64_t(scales.size()), label, ": ", scales.size(),
                  " encodings for a blocked grid of ", n);
    } else if (te.axis >= 0) {
      shape = {int64_t(scales.size())};
    } else {
      OCTET_CHECK(scales.size() == 1, label, ": per-tensor (axis -1) with ", scales.size(),
                  " encodings");
    }
    size_t k = 0;
    o["y_scale"] = nested_json(scales, shape, 0, k);
    if (any_zp) {
      k = 0;
      o["y_zero_point"] = nested_json(zps, shape, 0, k);
    }
    if (te.axis >= 0) o["axis"] = te.axis;
    if (te.block_size > 0) o["block_size"] = te.block_size;
    list.push_back(std::move(o));
  }
  root["encodings"] = std::move(list);
  return root;
}

}  // namespace octet::quant::encodings_detail
