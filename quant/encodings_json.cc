// AIMET encodings files: see encodings_json.h for the formats read/written and the choices made.
#include "quant/encodings_json.h"

#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/file_util.h"
#include "engine/memory_limit.h"
#include "quant/encodings_json_detail.h"

namespace octet::quant {
namespace {

using namespace encodings_detail;

constexpr int kMaxJsonDepth = 64;

// Empty string when min/max are on the grid of scale/offset (within half a step plus float
// rounding), else how far off they are.
std::string min_max_disagreement(const Encoding& grid, double min, double max) {
  const double gmin = grid_min(grid), gmax = grid_max(grid);
  const double tol = 0.5 * grid.scale + 1e-6 * (std::fabs(gmin) + std::fabs(gmax));
  const double dmin = std::fabs(min - gmin), dmax = std::fabs(max - gmax);
  if (dmin <= tol && dmax <= tol) return {};
  const double range = gmax - gmin;
  std::ostringstream out;
  out.precision(6);
  const bool use_min = dmin > tol && dmin >= dmax;
  out << (use_min ? "min " : "max ") << (use_min ? min : max) << " disagrees with "
      << (use_min ? "scale*offset = " : "scale*(offset+N) = ") << (use_min ? gmin : gmax)
      << " by " << (use_min ? dmin : dmax) << " (" << 100.0 * (use_min ? dmin : dmax) / range
      << " % of the range, " << (use_min ? dmin : dmax) / grid.scale
      << " steps); scale/offset are used";
  return out.str();
}

// Writer-side check of an encoding built in memory: min/max must be the grid end points.
std::string min_max_problem(const Encoding& e) {
  if (!std::isfinite(e.min) || !std::isfinite(e.max)) return "min/max must be finite";
  if (e.min > e.max) return "min is larger than max";
  std::string d = min_max_disagreement(e, e.min, e.max);
  if (!d.empty()) d.resize(d.find(';'));
  return d;
}

// ---- reader ---------------------------------------------------------------------------------

class Reader {
 public:
  Reader(const std::string& source, std::vector<std::string>& warnings)
      : source_(source), warnings_(warnings) {}

  void warn(const std::string& path, const std::string& what) const {
    warnings_.push_back(path.empty() ? source_ + ": " + what : source_ + ": " + path + ": " + what);
  }

  [[noreturn]] void error(const std::string& path, const std::string& what) const {
    if (path.empty()) fail(source_, ": ", what);
    fail(source_, ": ", path, ": ", what);
  }

  const json* member(const json& obj, const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  const json& required(const json& obj, const char* key, const std::string& path) const {
    const json* v = member(obj, key);
    if (!v) error(path, detail::concat("missing key \"", key, "\""));
    return *v;
  }

  void expect_object(const json& v, const std::string& path) const {
    if (!v.is_object()) error(path, detail::concat("expected an object, got ", v.type_name()));
  }
  void expect_array(const json& v, const std::string& path) const {
    if (!v.is_array()) error(path, detail::concat("expected a list, got ", v.type_name()));
  }

  std::string string(const json& v, const std::string& path) const {
    if (!v.is_string()) error(path, detail::concat("expected a string, got ", v.type_name()));
    return v.get<std::string>();
  }

  double number(const json& v, const std::string& path) const {
    if (!v.is_number()) error(path, detail::concat("expected a number, got ", v.type_name()));
    double d = v.get<double>();
    if (!std::isfinite(d)) error(path, "expected a finite number");
    return d;
  }

  // An integer in [lo, hi]; integral floats such as -114.0 are accepted.
  int64_t integer(const json& v, const std::string& path, int64_t lo, int64_t hi,
                  const char* what = "value") const {
    int64_t i = 0;
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(hi))
        error(path, detail::concat(what, " ", u, " is outside [", lo, ", ", hi, "]"));
      i = static_cast<int64_t>(u);  // the lower bound is checked below, as for every integer
    } else if (v.is_number_integer()) {
      i = v.get<int64_t>();
    } else if (v.is_number_float()) {
      double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d)) error(path, "expected an integer");
      if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
        error(path, detail::concat(what, " ", d, " is outside [", lo, ", ", hi, "]"));
      i = static_cast<int64_t>(d);
    } else {
      error(path, detail::concat("expected an integer, got ", v.type_name()));
    }
    if (i < lo || i > hi)
      error(path, detail::concat(what, " ", i, " is outside [", lo, ", ", hi, "]"));
    return i;
  }

  // AIMET's "True"/"False" strings; JSON bools are accepted too.
  bool flag(const json& v, const std::string& path) const {
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s == "True" || s == "true") return true;
      if (s == "False" || s == "false") return false;
    }
    error(path, "expected \"True\"/\"False\" or a JSON bool");
  }

  int bitwidth(const json& v, const std::string& path) const {
    return static_cast<int>(integer(v, path, kMinBitwidth, kMaxFileBitwidth, "bitwidth"));
  }

  void check_name(const std::string& name, const std::string& path) const {
    if (name.empty()) error(path, "empty tensor name");
    if (name.size() > kMaxNameBytes)
      error(path, detail::concat("tensor name longer than ", kMaxNameBytes, " bytes"));
  }

  // Builds and checks one integer encoding. `min`/`max` null: computed from the grid.
  Encoding int_encoding(int bw, bool sym, const json& scale_v, const std::string& scale_path,
                        const json& offset_v, const std::string& offset_path, const json* min_v,
                        const json* max_v, const std::string& path) const {
    Encoding e;
    e.bitwidth = bw;
    e.symmetric = sym;
    e.scale = number(scale_v, scale_path);
    if (auto p = scale_problem(e.scale); !p.empty()) error(scale_path, p);
    if (offset_v.is_number() && offset_v.get<double>() > 0)
      error(offset_path, detail::concat("offset ", offset_v.dump(), " is positive: AIMET's offset is "
                                        "minus the zero point (<= 0); this file follows another "
                                        "convention (the 0.4.0 TensorFlow examples wrote the zero "
                                        "point) and cannot be read without guessing"));
    int64_t off = integer(offset_v, offset_path, std::max<int64_t>(-max_steps(bw), INT_MIN), 0,
                          "offset");
    if (auto p = offset_problem(bw, off); !p.empty()) error(offset_path, p);
    e.offset = static_cast<int>(off);
    e.strict_symmetric = is_strict_offset(bw, sym, off);
    e.min = grid_min(e);
    e.max = grid_max(e);
    if (min_v || max_v) {
      const double mn = min_v ? number(*min_v, path + ".min") : e.min;
      const double mx = max_v ? number(*max_v, path + ".max") : e.max;
      if (mn > mx) error(path, "min is larger than max");
      // Within rounding of the grid: kept as written (so files round-trip exactly); beyond it:
      // the grid's, with a warning.
      if (auto d = min_max_disagreement(e, mn, mx); !d.empty()) {
        warn(path, d);
      } else {
        e.min = mn;
        e.max = mx;
      }
    }
    return e;
  }

  // Checks that encoding i shares bitwidth/symmetry with encoding 0.
  void check_same_flags(const TensorEncoding& te, const std::string& path) const {
    const Encoding& a = te.encodings.front();
    const Encoding& b = te.encodings.back();
    if (a.bitwidth != b.bitwidth)
      error(path, detail::concat("bitwidth ", b.bitwidth, " differs from the first entry's ",
                                 a.bitwidth));
    if (a.symmetric != b.symmetric) error(path, "is_symmetric differs from the first entry's");
  }

  // AIMET's PyTorch export writes <prefix>_torch.encodings beside <prefix>.encodings: in every
  // version (0.6.1 and 1.0.0 alike) its activation_encodings are keyed by module name, each an
  // object of "input"/"output" index -> encoding.
  void refuse_torch_module_layout(const json& sec, const std::string& key) const {
    if (!sec.is_object()) return;
    for (auto it = sec.begin(); it != sec.end(); ++it) {
      const json& v = it.value();
      if (v.is_object() && (v.contains("input") || v.contains("output")))
        error(key + "[" + json_quote(it.key()) + "]",
              "an object of \"input\"/\"output\" encodings keyed by PyTorch module name: "
              "this is AIMET's <prefix>_torch.encodings file; use the <prefix>.encodings "
              "file exported beside it, which is keyed by the ONNX model's tensor names");
    }
  }

  void parse_legacy_section(const json& sec, const std::string& key,
                            std::map<std::string, TensorEncoding>& out,
                            std::map<std::string, int>& floats) const {
    if (sec.is_array())
      error(key, "expected an object keyed by tensor name (a list is the 1.0.0 layout: is the "
                 "\"version\" right?)");
    expect_object(sec, key);
    refuse_torch_module_layout(sec, key);
    if (sec.size() > kMaxEncodingsTensors)
      error(key, detail::concat("more than ", kMaxEncodingsTensors, " tensors"));
    for (auto it = sec.begin(); it != sec.end(); ++it) {
      const std::string& name = it.key();
      std::string tpath = key + "[" + json_quote(name) + "]";
      check_name(name, tpath);
      const json& list = it.value();
      expect_array(list, tpath);
      if (list.empty()) error(tpath, "empty list of encodings");
      if (list.size() > kMaxEncodingsPerTensor)
        error(tpath, detail::concat("more than ", kMaxEncodingsPerTensor, " encodings"));
      TensorEncoding te;
      int float_bw = 0;
      for (size_t i = 0; i < list.size(); ++i) {
        std::string path = tpath + "[" + std::to_string(i) + "]";
        const json& entry = list[i];
        expect_object(entry, path);
        bool is_float = false;
        if (const json* dt = member(entry, "dtype")) {
          std::string d = string(*dt, path + ".dtype");
          if (d == "float" || d == "FLOAT") is_float = true;
          else if (d != "int" && d != "INT")
            error(path + ".dtype", "expected \"int\" or \"float\", got " + json_quote(d));
        }
        int bw = bitwidth(required(entry, "bitwidth", path), path + ".bitwidth");
        if (i > 0 && is_float != (float_bw != 0))
          error(path + ".dtype", "mixes int and float entries in one tensor");
        if (is_float) {
          if (i > 0 && bw != float_bw)
            error(path + ".bitwidth", "differs from the first entry's");
          float_bw = bw;
          continue;
        }
        bool sym = flag(required(entry, "is_symmetric", path), path + ".is_symmetric");
        te.encodings.push_back(int_encoding(
            bw, sym, required(entry, "scale", path), path + ".scale",
            required(entry, "offset", path), path + ".offset", member(entry, "min"),
            member(entry, "max"), path));
        check_same_flags(te, path);
      }
      if (float_bw != 0) {
        floats[name] = float_bw;
      } else {
        te.axis = te.encodings.size() == 1 ? -1 : kAxisFromModel;
        out[name] = std::move(te);
      }
    }
  }

  void parse_v1_section(const json& sec, const std::string& key,
                        std::map<std::string, TensorEncoding>& out,
                        std::map<std::string, int>& floats,
                        std::map<std::string, LpbqEncoding>* lpbq_out) const {
    refuse_torch_module_layout(sec, key);
    if (sec.is_object())
      error(key, "expected a list of named encodings (an object keyed by tensor name is the "
                 "legacy 0.6.1 layout: is the \"version\" right?)");
    expect_array(sec, key);
    if (sec.size() > kMaxEncodingsTensors)
      error(key, detail::concat("more than ", kMaxEncodingsTensors, " tensors"));
    std::set<std::string> seen;
    for (size_t i = 0; i < sec.size(); ++i) {
      const json& entry = sec[i];
      std::string path = key + "[" + std::to_string(i) + "]";
      expect_object(entry, path);
      std::string name = string(required(entry, "name", path), path + ".name");
      check_name(name, path + ".name");
      path += " (" + json_quote(name) + ")";
      if (!seen.insert(name).second) error(path, "duplicate name " + json_quote(name));
      std::string dtype = string(required(entry, "dtype", path), path + ".dtype");
      int bw = bitwidth(required(entry, "bw", path), path + ".bw");
      if (dtype == "FLOAT" || dtype == "float") {
        floats[name] = bw;
        continue;
      }
      if (dtype != "INT" && dtype != "int")
        error(path + ".dtype", "expected \"INT\" or \"FLOAT\", got " + json_quote(dtype));
      std::string type = string(required(entry, "enc_type", path), path + ".enc_type");
      if (type == "VECTOR")
        error(path + ".enc_type", "enc_type VECTOR is not supported (only PER_TENSOR, "
                                  "PER_CHANNEL, PER_BLOCK, LPBQ)");
      if (type != "PER_TENSOR" && type != "PER_CHANNEL" && type != "PER_BLOCK" && type != "LPBQ")
        error(path + ".enc_type",
              "expected PER_TENSOR, PER_CHANNEL, PER_BLOCK or LPBQ, got " + json_quote(type));
      if (const json* zs = member(entry, "zero_point_shift")) {
        expect_array(*zs, path + ".zero_point_shift");
        for (size_t k = 0; k < zs->size(); ++k)
          if (number((*zs)[k], path + ".zero_point_shift[" + std::to_string(k) + "]") != 0.0)
            error(path + ".zero_point_shift", "fractional zero points (int2 custom grids) are not "
                                              "supported");
      }
      if (type == "LPBQ") {
        if (!lpbq_out) error(path + ".enc_type", "LPBQ encodings are for parameters only");
        (*lpbq_out)[name] = parse_lpbq(entry, bw, path);
        continue;
      }
      bool sym = flag(required(entry, "is_sym", path), path + ".is_sym");
      const json& scales = required(entry, "scale", path);
      const json& offsets = required(entry, "offset", path);
      expect_array(scales, path + ".scale");
      expect_array(offsets, path + ".offset");
      if (scales.empty()) error(path + ".scale", "empty list");
      if (scales.size() > kMaxEncodingsPerTensor)
        error(path + ".scale", detail::concat("more than ", kMaxEncodingsPerTensor, " entries"));
      if (offsets.size() != scales.size())
        error(path + ".offset", detail::concat("has ", offsets.size(), " entries but scale has ",
                                               scales.size()));
      TensorEncoding te;
      if (type == "PER_TENSOR") {
        if (scales.size() != 1)
          error(path + ".scale",
                detail::concat("PER_TENSOR needs exactly 1 entry, got ", scales.size()));
        te.axis = -1;
      } else {
        te.axis = kAxisFromModel;
      }
      if (type == "PER_BLOCK") {
        te.block_size = static_cast<int>(integer(required(entry, "block_size", path),
                                                 path + ".block_size", 1, INT_MAX, "block_size"));
      }
      te.encodings.reserve(scales.size());
      for (size_t c = 0; c < scales.size(); ++c) {
        std::string idx = "[" + std::to_string(c) + "]";
        te.encodings.push_back(int_encoding(bw, sym, scales[c], path + ".scale" + idx, offsets[c],
                                            path + ".offset" + idx, nullptr, nullptr,
                                            path + ".scale" + idx));
      }
      out[name] = std::move(te);
    }
  }

  // 1.0.0 LPBQ: `scale`/`offset` per channel, `per_block_int_scale` per block, `bw` the
  // decompressed bitwidth, `compressed_bw` the one the weights use.
  LpbqEncoding parse_lpbq(const json& entry, int bw, const std::string& path) const {
    LpbqEncoding l;
    l.decompressed_bitwidth = bw;
    l.bitwidth = static_cast<int>(integer(required(entry, "compressed_bw", path),
                                          path + ".compressed_bw", kMinBitwidth, bw,
                                          "compressed_bw"));
    l.block_size = static_cast<int>(integer(required(entry, "block_size", path),
                                            path + ".block_size", 1, INT_MAX, "block_size"));
    if (!flag(required(entry, "is_sym", path), path + ".is_sym"))
      error(path + ".is_sym", "LPBQ encodings are symmetric");
    const json& scales = required(entry, "scale", path);
    const json& ints = required(entry, "per_block_int_scale", path);
    expect_array(scales, path + ".scale");
    expect_array(ints, path + ".per_block_int_scale");
    if (scales.empty()) error(path + ".scale", "empty list");
    if (scales.size() > kMaxEncodingsPerTensor || ints.size() > kMaxEncodingsPerTensor)
      error(path, detail::concat("more than ", kMaxEncodingsPerTensor, " entries"));
    if (ints.empty() || ints.size() % scales.size() != 0)
      error(path + ".per_block_int_scale",
            detail::concat("has ", ints.size(), " entries, not a multiple of the ", scales.size(),
                           " channel scales"));
    const int64_t max_int = int64_t{1} << (bw - l.bitwidth);
    for (size_t c = 0; c < scales.size(); ++c) {
      const std::string sp = path + ".scale[" + std::to_string(c) + "]";
      l.channel_scales.push_back(number(scales[c], sp));
      if (auto p = scale_problem(l.channel_scales.back()); !p.empty()) error(sp, p);
    }
    for (size_t k = 0; k < ints.size(); ++k)
      l.int_scales.push_back(integer(ints[k], path + ".per_block_int_scale[" + std::to_string(k) + "]",
                                     1, max_int, "per-block integer scale"));
    return l;
  }

  QuantizerArgs parse_quantizer_args(const json& v) const {
    const std::string key = "quantizer_args";
    expect_object(v, key);
    QuantizerArgs q;
    if (const json* x = member(v, "activation_bitwidth"))
      q.activation_bitwidth = bitwidth(*x, key + ".activation_bitwidth");
    if (const json* x = member(v, "param_bitwidth"))
      q.param_bitwidth = bitwidth(*x, key + ".param_bitwidth");
    if (const json* x = member(v, "dtype")) q.dtype = string(*x, key + ".dtype");
    if (const json* x = member(v, "is_symmetric")) q.is_symmetric = flag(*x, key + ".is_symmetric");
    if (const json* x = member(v, "per_channel_quantization"))
      q.per_channel_quantization = flag(*x, key + ".per_channel_quantization");
    if (const json* x = member(v, "quant_scheme")) q.quant_scheme = string(*x, key + ".quant_scheme");
    return q;
  }

  // AIMET's oldest AdaRound output: {"<param name>": [legacy entries], ...} and nothing else.
  static bool is_flat_param_file(const json& root) {
    if (root.empty()) return false;
    for (auto it = root.begin(); it != root.end(); ++it) {
      if (!it->is_array() || it->empty() || !(*it)[0].is_object()) return false;
      const json& e = (*it)[0];
      if (!e.contains("bitwidth") || !e.contains("scale")) return false;
    }
    return true;
  }

  EncodingsFile parse(const json& root) const {
    if (!root.is_object())
      error("", detail::concat("expected a JSON object at the top level, got ", root.type_name()));
    EncodingsFile f;
    f.version = "0.4.0";
    if (const json* v = member(root, "version")) f.version = string(*v, "version");
    if (f.version == "2.0.0" || f.version == "2.1.0") return parse_v2(root, f.version, source_);
    bool legacy = f.version == "0.4.0" || f.version == "0.5.0" || f.version == "0.6.1";
    if (!legacy && f.version != "1.0.0")
      error("version", "unsupported encodings version " + json_quote(f.version) +
                           " (supported: 0.4.0, 0.5.0, 0.6.1, 1.0.0, 2.0.0, 2.1.0)");
    static const char* const known[] = {"version", "activation_encodings", "param_encodings",
                                        "quantizer_args", "excluded_layers", "producer"};
    bool any_known = false;
    for (const char* k : known) any_known = any_known || root.contains(k);
    if (!any_known) {
      if (!is_flat_param_file(root))
        error("", "no \"activation_encodings\", \"param_encodings\" or \"encodings\": not an "
                  "AIMET encodings file");
      f.flat_param_file = true;
      parse_legacy_section(root, "", f.param_encodings, f.float_param_encodings);
      return f;
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
      bool k = false;
      for (const char* n : known) k = k || it.key() == n;
      if (!k) warn(json_quote(it.key()), "unknown top-level key, ignored");
    }
    for (const char* key : {"activation_encodings", "param_encodings"}) {
      const json* sec = member(root, key);
      if (!sec) continue;
      bool act = std::string(key) == "activation_encodings";
      auto& out = act ? f.activation_encodings : f.param_encodings;
      auto& floats = act ? f.float_activation_encodings : f.float_param_encodings;
      if (legacy)
        parse_legacy_section(*sec, key, out, floats);
      else
        parse_v1_section(*sec, key, out, floats, act ? nullptr : &f.lpbq_param_encodings);
    }
    if (const json* q = member(root, "quantizer_args")) f.quantizer_args = parse_quantizer_args(*q);
    if (const json* ex = member(root, "excluded_layers")) {
      expect_array(*ex, "excluded_layers");
      if (ex->size() > kMaxEncodingsTensors)
        error("excluded_layers", detail::concat("more than ", kMaxEncodingsTensors, " entries"));
      for (size_t i = 0; i < ex->size(); ++i)
        f.excluded_layers.push_back(
            string((*ex)[i], "excluded_layers[" + std::to_string(i) + "]"));
    }
    if (const json* p = member(root, "producer"))
      f.producer = p->dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 256);
    return f;
  }

 private:
  const std::string& source_;
  std::vector<std::string>& warnings_;
};

// ---- writer ---------------------------------------------------------------------------------

// Checks one tensor's encodings before writing; returns its enc_type.
const char* check_for_write(const TensorEncoding& te, const std::string& label,
                            EncodingsVersion v) {
  OCTET_CHECK(!te.encodings.empty(), label, ": no encodings");
  OCTET_CHECK(te.encodings.size() <= kMaxEncodingsPerTensor, label, ": more than ",
              kMaxEncodingsPerTensor, " encodings");
  const char* type = "PER_CHANNEL";
  if (te.block_size > 0) {
    OCTET_CHECK(v != EncodingsVersion::kV0_6_1, label,
                ": per-block encodings cannot be written in the 0.6.1 format; save with version "
                "1.0.0");
    type = "PER_BLOCK";
  } else {
    OCTET_CHECK(te.block_size == 0, label, ": negative block_size ", te.block_size);
    if (te.axis == -1) {
      OCTET_CHECK(te.encodings.size() == 1, label, ": per-tensor (axis -1) with ",
                  te.encodings.size(), " encodings");
      type = "PER_TENSOR";
    }
  }
  const Encoding& first = te.encodings.front();
  for (size_t i = 0; i < te.encodings.size(); ++i) {
    const Encoding& e = te.encodings[i];
    std::string at = detail::concat(label, "[", i, "]");
    OCTET_CHECK(e.bitwidth >= kMinBitwidth && e.bitwidth <= kMaxFileBitwidth, at, ": bitwidth ",
                e.bitwidth, " is outside [", kMinBitwidth, ", ", kMaxFileBitwidth, "]");
    OCTET_CHECK(e.bitwidth == first.bitwidth && e.symmetric == first.symmetric, at,
                ": bitwidth/is_symmetric differ from the first encoding's");
    if (auto p = scale_problem(e.scale); !p.empty()) fail(at, ": ", p);
    if (auto p = offset_problem(e.bitwidth, e.offset); !p.empty()) fail(at, ": ", p);
    OCTET_CHECK(e.strict_symmetric == is_strict_offset(e.bitwidth, e.symmetric, e.offset), at,
                ": strict_symmetric=", e.strict_symmetric, " with symmetric=", e.symmetric,
                " and offset ", e.offset,
                " cannot be represented (the files imply strict from offset -(2^(b-1)-1))");
    if (auto p = min_max_problem(e); !p.empty()) fail(at, ": ", p);
  }
  return type;
}

ojson write_impl(const EncodingsFile& file, EncodingsVersion v) {
  const bool legacy = v == EncodingsVersion::kV0_6_1;
  ojson root = ojson::object();
  root["version"] = encodings_version_name(v);
  struct Section {
    const char* key;
    const std::map<std::string, TensorEncoding>* ints;
    const std::map<std::string, int>* floats;
  };
  for (const Section& s :
       {Section{"activation_encodings", &file.activation_encodings,
                &file.float_activation_encodings},
        Section{"param_encodings", &file.param_encodings, &file.float_param_encodings}}) {
    ojson sec = legacy ? ojson::object() : ojson::array();
    for (const auto& [name, te] : *s.ints) {
      std::string label = std::string(s.key) + "[" + json_quote(name) + "]";
      OCTET_CHECK(!name.empty(), s.key, ": empty tensor name");
      OCTET_CHECK(!s.floats->count(name), label, ": has both an int and a float encoding");
      const char* type = check_for_write(te, label, v);
      if (legacy) {
        ojson list = ojson::array();
        for (const Encoding& e : te.encodings) {
          ojson o = ojson::object();
          o["bitwidth"] = e.bitwidth;
          o["dtype"] = "int";
          o["is_symmetric"] = e.symmetric ? "True" : "False";
          o["max"] = e.max;
          o["min"] = e.min;
          o["offset"] = e.offset;
          o["scale"] = e.scale;
          list.push_back(std::move(o));
        }
        sec[name] = std::move(list);
      } else {
        ojson o = ojson::object();
        o["name"] = name;
        o["enc_type"] = type;
        o["dtype"] = "INT";
        o["bw"] = te.encodings.front().bitwidth;
        o["is_sym"] = te.encodings.front().symmetric;
        ojson scales = ojson::array(), offsets = ojson::array();
        for (const Encoding& e : te.encodings) {
          scales.push_back(e.scale);
          offsets.push_back(e.offset);
        }
        o["scale"] = std::move(scales);
        o["offset"] = std::move(offsets);
        if (te.block_size > 0) o["block_size"] = te.block_size;
        sec.push_back(std::move(o));
      }
    }
    for (const auto& [name, bw] : *s.floats) {
      std::string label = std::string(s.key) + "[" + json_quote(name) + "]";
      OCTET_CHECK(!name.empty(), s.key, ": empty tensor name");
      OCTET_CHECK(bw >= kMinBitwidth && bw <= kMaxFileBitwidth, label, ": float bitwidth ", bw,
                  " is outside [", kMinBitwidth, ", ", kMaxFileBitwidth, "]");
      if (legacy) {
        sec[name] = ojson::array({ojson{{"bitwidth", bw}, {"dtype", "float"}}});
      } else {
        ojson o = ojson::object();
        o["name"] = name;
        o["enc_type"] = "PER_TENSOR";
        o["dtype"] = "FLOAT";
        o["bw"] = bw;
        sec.push_back(std::move(o));
      }
    }
    if (s.ints == &file.param_encodings && !legacy)
      for (const auto& [name, l] : file.lpbq_param_encodings) {
        OCTET_CHECK(!file.param_encodings.count(name), "param_encodings[", json_quote(name),
                    "]: has both an LPBQ and another encoding");
        ojson o = ojson::object();
        o["name"] = name;
        o["enc_type"] = "LPBQ";
        o["dtype"] = "INT";
        o["bw"] = l.decompressed_bitwidth;
        o["compressed_bw"] = l.bitwidth;
        o["is_sym"] = true;
        o["block_size"] = l.block_size;
        o["scale"] = l.channel_scales;
        o["offset"] = std::vector<int64_t>(l.channel_scales.size(),
                                           -(int64_t{1} << (l.decompressed_bitwidth - 1)));
        o["per_block_int_scale"] = l.int_scales;
        sec.push_back(std::move(o));
      }
    root[s.key] = std::move(sec);
  }
  OCTET_CHECK(!legacy || file.lpbq_param_encodings.empty(),
              "LPBQ encodings cannot be written in the 0.6.1 format; save with version 1.0.0");
  // 1.0.0 files carry the list (seen in AIMET dumps); legacy ones only when it is not empty.
  if (!legacy || !file.excluded_layers.empty()) root["excluded_layers"] = file.excluded_layers;
  const QuantizerArgs& q = file.quantizer_args;
  if (!q.empty()) {
    ojson o = ojson::object();
    auto flag = [](bool b) { return b ? "True" : "False"; };
    if (q.activation_bitwidth) o["activation_bitwidth"] = *q.activation_bitwidth;
    if (q.dtype) o["dtype"] = *q.dtype;
    if (q.is_symmetric) o["is_symmetric"] = flag(*q.is_symmetric);
    if (q.param_bitwidth) o["param_bitwidth"] = *q.param_bitwidth;
    if (q.per_channel_quantization) o["per_channel_quantization"] = flag(*q.per_channel_quantization);
    if (q.quant_scheme) o["quant_scheme"] = *q.quant_scheme;
    root["quantizer_args"] = std::move(o);
  }
  return root;
}

std::string dump(const ojson& root) {
  try {
    // nlohmann writes doubles with the shortest text that reads back to the same value (at most
    // max_digits10 = 17 significant digits), so scale/min/max round-trip exactly.
    return root.dump(4) + "\n";
  } catch (const ojson::exception& e) {
    fail("invalid text in a tensor name (names must be UTF-8): ", e.what());
  }
}

}  // namespace

const char* encodings_version_name(EncodingsVersion v) {
  switch (v) {
    case EncodingsVersion::kV1_0_0: return "1.0.0";
    case EncodingsVersion::kV2_0_0: return "2.0.0";
    case EncodingsVersion::kV0_6_1: break;
  }
  return "0.6.1";
}

EncodingsVersion parse_encodings_version(const std::string& name) {
  for (EncodingsVersion v :
       {EncodingsVersion::kV0_6_1, EncodingsVersion::kV1_0_0, EncodingsVersion::kV2_0_0})
    if (name == encodings_version_name(v)) return v;
  fail("encodings version must be 0.6.1, 1.0.0 or 2.0.0, got '", name.substr(0, 64), "'");
}

TensorEncoding lpbq_block_encoding(const LpbqEncoding& l, bool channel_first) {
  OCTET_CHECK(!l.channel_scales.empty() && !l.int_scales.empty() &&
                  l.int_scales.size() % l.channel_scales.size() == 0,
              "LPBQ encoding: ", l.int_scales.size(), " block scales for ",
              l.channel_scales.size(), " channels");
  const size_t C = l.channel_scales.size(), blocks = l.int_scales.size() / C;
  TensorEncoding te;
  te.axis = kAxisFromModel;
  te.block_size = l.block_size;
  const int offset = -(1 << (l.bitwidth - 1));
  for (size_t k = 0; k < l.int_scales.size(); ++k) {
    const size_t c = channel_first ? k / blocks : k % C;
    const double scale = l.channel_scales[c] * static_cast<double>(l.int_scales[k]);
    OCTET_CHECK(scale_problem(scale).empty(), "LPBQ encoding: block scale ", k, ": ",
                scale_problem(scale));
    te.encodings.push_back(grid_encoding(l.bitwidth, true, scale, offset));
  }
  return te;
}

std::string write_encodings_json(const EncodingsFile& file, EncodingsVersion v) {
  if (v == EncodingsVersion::kV2_0_0) return dump(write_v2(file));
  return dump(write_impl(file, v));
}

void save_encodings(const std::string& path, const EncodingsFile& file, EncodingsVersion v) {
  std::string text;
  try {
    text = write_encodings_json(file, v);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  write_file_bytes(path, text.data(), text.size());
}

namespace encodings_detail {
json parse_json_text(const std::string& text, const std::string& source, size_t max_dom_bytes) {
  json root;
  try {
    // The callback bounds the nesting depth (the shapes read here need at most 4 levels) and the
    // document's memory: a value costs a json (16 bytes), an object member a map node and its
    // key (~96 bytes), a container its own allocation (~48 bytes).
    size_t dom_bytes = 0;
    json::parser_callback_t limits = [&](int depth, json::parse_event_t event, json&) {
      if (depth > kMaxJsonDepth)
        fail(source, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
      switch (event) {
        case json::parse_event_t::value: dom_bytes += 16; break;
        case json::parse_event_t::key: dom_bytes += 96; break;
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start: dom_bytes += 48; break;
        default: break;
      }
      if (dom_bytes > max_dom_bytes)
        fail(source, ": the JSON document would take more than ", format_byte_size(max_dom_bytes),
             " in memory once parsed (", text.size(), " bytes of text)");
      return true;
    };
    root = json::parse(text, limits);
  } catch (const json::exception& e) {  // parse errors, and numbers like 1e400 (out_of_range)
    std::string m = e.what();
    if (m.rfind("[json.exception.", 0) == 0) m = m.substr(m.find(']') + 2);
    fail(source, ": invalid JSON: ", m);
  }
  return root;
}
}  // namespace encodings_detail

EncodingsFile parse_encodings_json(const std::string& text, const std::string& source) {
  OCTET_CHECK(text.size() <= kMaxEncodingsFileBytes, source, ": encodings file larger than ",
              kMaxEncodingsFileBytes, " bytes");
  const json root = parse_json_text(text, source);
  std::vector<std::string> warnings;
  EncodingsFile f;
  try {
    f = Reader(source, warnings).parse(root);
  } catch (const json::exception& e) {  // a value of an unexpected kind the reader missed
    fail(source, ": unexpected JSON value: ", e.what());
  }
  f.warnings.insert(f.warnings.begin(), warnings.begin(), warnings.end());
  return f;
}

EncodingsFile load_encodings(const std::string& path) {
  const std::vector<std::byte> bytes = read_file_bytes(path, kMaxEncodingsFileBytes);
  return parse_encodings_json(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                              path);
}

}  // namespace octet::quant
