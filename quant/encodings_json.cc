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

#include "engine/error.h"

namespace octet::quant {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr int kMaxJsonDepth = 64;
constexpr size_t kMaxNameBytes = 4096;

// A JSON string literal for error messages and paths (escaped, never throws).
std::string json_quote(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- checks shared by reader and writer ----------------------------------------------------

int64_t max_steps(int bitwidth) { return (int64_t{1} << bitwidth) - 1; }

bool is_strict_offset(int bitwidth, bool symmetric, int64_t offset) {
  return symmetric && offset == -((int64_t{1} << (bitwidth - 1)) - 1);
}

// The grid end points scale*offset and scale*(offset + N).
double grid_min(const Encoding& e) { return e.scale * static_cast<double>(e.offset); }
double grid_max(const Encoding& e) {
  return e.scale * static_cast<double>(int64_t{e.offset} + e.num_steps());
}

// Empty string when fine, else what is wrong (min/max vs the grid: "wildly off" = more than half
// a step plus float rounding).
std::string min_max_problem(const Encoding& e) {
  if (!std::isfinite(e.min) || !std::isfinite(e.max)) return "min/max must be finite";
  if (e.min > e.max) return "min is larger than max";
  double gmin = grid_min(e), gmax = grid_max(e);
  double tol = 0.5 * e.scale + 1e-6 * (std::fabs(gmin) + std::fabs(gmax));
  std::ostringstream out;
  out.precision(17);
  if (std::fabs(e.min - gmin) > tol)
    out << "min " << e.min << " disagrees with scale*offset = " << gmin;
  else if (std::fabs(e.max - gmax) > tol)
    out << "max " << e.max << " disagrees with scale*(offset+" << e.num_steps() << ") = " << gmax;
  return out.str();
}

std::string scale_problem(double scale) {
  if (!std::isfinite(scale) || scale < static_cast<double>(FLT_MIN) ||
      scale > static_cast<double>(FLT_MAX)) {
    std::ostringstream out;
    out.precision(17);
    out << "scale must be a finite positive number representable as float32 (got " << scale << ")";
    return out.str();
  }
  return {};
}

std::string offset_problem(int bitwidth, int64_t offset) {
  int64_t lo = -max_steps(bitwidth);
  if (offset > 0 || offset < lo || offset < INT_MIN)
    return detail::concat("offset ", offset, " is outside [", std::max<int64_t>(lo, INT_MIN),
                          ", 0] for bitwidth ", bitwidth);
  return {};
}

// ---- reader ---------------------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

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
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(hi))
        error(path, detail::concat(what, " ", u, " is outside [", lo, ", ", hi, "]"));
      return static_cast<int64_t>(u);
    }
    int64_t i = 0;
    if (v.is_number_integer()) {
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
    int64_t off = integer(offset_v, offset_path, std::max<int64_t>(-max_steps(bw), INT_MIN), 0,
                          "offset");
    if (auto p = offset_problem(bw, off); !p.empty()) error(offset_path, p);
    e.offset = static_cast<int>(off);
    e.strict_symmetric = is_strict_offset(bw, sym, off);
    e.min = min_v ? number(*min_v, path + ".min") : grid_min(e);
    e.max = max_v ? number(*max_v, path + ".max") : grid_max(e);
    if (auto p = min_max_problem(e); !p.empty()) error(path, p);
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

  void parse_legacy_section(const json& sec, const std::string& key,
                            std::map<std::string, TensorEncoding>& out,
                            std::map<std::string, int>& floats) const {
    if (sec.is_array())
      error(key, "expected an object keyed by tensor name (a list is the 1.0.0 layout: is the "
                 "\"version\" right?)");
    expect_object(sec, key);
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
                        std::map<std::string, int>& floats) const {
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
      if (type == "LPBQ" || type == "VECTOR")
        error(path + ".enc_type", "enc_type " + type +
                                      " is not supported (only PER_TENSOR, PER_CHANNEL, PER_BLOCK)");
      if (type != "PER_TENSOR" && type != "PER_CHANNEL" && type != "PER_BLOCK")
        error(path + ".enc_type",
              "expected PER_TENSOR, PER_CHANNEL or PER_BLOCK, got " + json_quote(type));
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

  EncodingsFile parse(const json& root) const {
    if (!root.is_object())
      error("", detail::concat("expected a JSON object at the top level, got ", root.type_name()));
    EncodingsFile f;
    f.version = "0.4.0";
    if (const json* v = member(root, "version")) f.version = string(*v, "version");
    bool legacy = f.version == "0.4.0" || f.version == "0.5.0" || f.version == "0.6.1";
    if (f.version == "2.0.0")
      error("version", "encodings version 2.0.0 is not supported yet; export with version 0.6.1 "
                       "or 1.0.0");
    if (!legacy && f.version != "1.0.0")
      error("version", "unsupported encodings version " + json_quote(f.version) +
                           " (supported: 0.4.0, 0.5.0, 0.6.1, 1.0.0)");
    for (const char* key : {"activation_encodings", "param_encodings"}) {
      const json* sec = member(root, key);
      if (!sec) continue;
      bool act = std::string(key) == "activation_encodings";
      auto& out = act ? f.activation_encodings : f.param_encodings;
      auto& floats = act ? f.float_activation_encodings : f.float_param_encodings;
      if (legacy)
        parse_legacy_section(*sec, key, out, floats);
      else
        parse_v1_section(*sec, key, out, floats);
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
    return f;
  }

 private:
  const std::string& source_;
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
    root[s.key] = std::move(sec);
  }
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
  return v == EncodingsVersion::kV1_0_0 ? "1.0.0" : "0.6.1";
}

std::string write_encodings_json(const EncodingsFile& file, EncodingsVersion v) {
  return dump(write_impl(file, v));
}

void save_encodings(const std::string& path, const EncodingsFile& file, EncodingsVersion v) {
  std::string text;
  try {
    text = write_encodings_json(file, v);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  OCTET_CHECK(out.good(), path, ": cannot open for writing");
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  OCTET_CHECK(out.good(), path, ": write failed");
}

EncodingsFile parse_encodings_json(const std::string& text, const std::string& source) {
  OCTET_CHECK(text.size() <= kMaxEncodingsFileBytes, source, ": encodings file larger than ",
              kMaxEncodingsFileBytes, " bytes");
  json root;
  try {
    // The callback bounds the nesting depth (the shapes read here need at most 4 levels).
    json::parser_callback_t depth_limit = [&](int depth, json::parse_event_t, json&) {
      if (depth > kMaxJsonDepth)
        fail(source, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
      return true;
    };
    root = json::parse(text, depth_limit);
  } catch (const json::parse_error& e) {
    std::string m = e.what();
    if (m.rfind("[json.exception.", 0) == 0) m = m.substr(m.find(']') + 2);
    fail(source, ": invalid JSON: ", m);
  }
  return Reader(source).parse(root);
}

EncodingsFile load_encodings(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  OCTET_CHECK(!ec, path, ": cannot read encodings file: ", ec.message());
  OCTET_CHECK(size <= kMaxEncodingsFileBytes, path, ": encodings file larger than ",
              kMaxEncodingsFileBytes, " bytes");
  std::ifstream in(path, std::ios::binary);
  OCTET_CHECK(in.good(), path, ": cannot open encodings file");
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  OCTET_CHECK(in.gcount() == static_cast<std::streamsize>(size), path,
              ": short read of encodings file");
  return parse_encodings_json(text, path);
}

}  // namespace octet::quant
