#include "quant/quantsim_config.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <set>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/shipped_data.h"
#include "base/file_util.h"

namespace octet::quant {
namespace {

using json = nlohmann::json;

// A key or value quoted in a message: at most 64 bytes, control and non-ASCII bytes escaped.
std::string printable(std::string_view s) {
  std::string out;
  const std::size_t n = std::min<std::size_t>(s.size(), ConfigLimits::max_name_length);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > n) out += "...";
  return out;
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? printable(key) : path + "." + printable(key);
}

std::string element(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

bool is_name(std::string_view s) {
  if (s.empty() || s.size() > ConfigLimits::max_name_length) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

class Reader {
 public:
  Reader(const std::string& source, std::vector<std::string>& warnings)
      : source_(source), warnings_(warnings) {}

  void warn_at(const std::string& path, const std::string& what) const {
    warnings_.push_back(source_ + ": " + (path.empty() ? std::string("(top level)") : path) +
                        ": " + what);
  }

  [[noreturn]] void fail_at(const std::string& path, const std::string& what) const {
    fail(source_, ": ", path.empty() ? std::string("(top level)") : path, ": ", what);
  }

  void expect_object(const json& j, const std::string& path) const {
    if (!j.is_object()) fail_at(path, std::string("expected an object, got ") + j.type_name());
  }

  void expect_array(const json& j, const std::string& path) const {
    if (!j.is_array()) fail_at(path, std::string("expected an array, got ") + j.type_name());
  }

  void allowed_keys(const json& obj, const std::string& path,
                    std::initializer_list<std::string_view> keys) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool known = false;
      for (std::string_view k : keys) known = known || it.key() == k;
      if (!known) {
        std::string list;
        for (std::string_view k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
        fail_at(child(path, it.key()), "unknown key (allowed: " + list + ")");
      }
    }
  }

  void require(const json& obj, const std::string& path, std::string_view key) const {
    if (!obj.contains(key)) fail_at(path, "missing required key '" + std::string(key) + "'");
  }

  void check_count(const json& j, const std::string& path, std::size_t limit) const {
    if (j.size() > limit)
      fail_at(path, "too many entries (" + std::to_string(j.size()) + ", at most " +
                        std::to_string(limit) + ")");
  }

  void check_name(std::string_view name, const std::string& path, const char* what) const {
    if (!is_name(name))
      fail_at(path, std::string("invalid ") + what + " '" + printable(name) +
                        "' (expected letters, digits and '_', at most 64 characters)");
  }

  // AIMET writes flags as the strings "True" / "False" (its schema rejects JSON booleans).
  std::optional<bool> flag(const json& obj, const std::string& path, std::string_view key) const {
    auto it = obj.find(key);
    if (it == obj.end()) return std::nullopt;
    const std::string p = child(path, key);
    if (!it->is_string())
      fail_at(p, std::string("expected a boolean (the string \"True\" or \"False\"), got ") +
                     it->type_name());
    const auto& s = it->get_ref<const std::string&>();
    if (s == "True") return true;
    if (s == "False") return false;
    fail_at(p, "expected a boolean (the string \"True\" or \"False\"), got \"" + printable(s) + "\"");
  }

  ParamFlags param_flags(const json& j, const std::string& path) const {
    expect_object(j, path);
    allowed_keys(j, path, {"is_quantized", "is_symmetric"});
    return {flag(j, path, "is_quantized"), flag(j, path, "is_symmetric")};
  }

  std::map<std::string, ParamFlags> param_map(const json& j, const std::string& path) const {
    expect_object(j, path);
    check_count(j, path, ConfigLimits::max_param_names);
    std::map<std::string, ParamFlags> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string p = child(path, it.key());
      check_name(it.key(), p, "param name");
      out[it.key()] = param_flags(it.value(), p);
    }
    return out;
  }

  KernelTypeSpec kernel_type(const json& j, const std::string& path) const {
    expect_object(j, path);
    allowed_keys(j, path, {"bitwidth", "dtype"});
    require(j, path, "bitwidth");
    require(j, path, "dtype");
    KernelTypeSpec spec;
    const json& bw = j.at("bitwidth");
    const std::string bw_path = child(path, "bitwidth");
    if (!bw.is_number()) fail_at(bw_path, std::string("expected a number, got ") + bw.type_name());
    const double v = bw.get<double>();
    if (v != 4 && v != 8 && v != 16 && v != 32) fail_at(bw_path, "expected one of 4, 8, 16, 32");
    spec.bitwidth = static_cast<int>(v);
    const json& dt = j.at("dtype");
    const std::string dt_path = child(path, "dtype");
    if (!dt.is_string()) fail_at(dt_path, std::string("expected a string, got ") + dt.type_name());
    const auto& s = dt.get_ref<const std::string&>();
    if (s == "int") {
      spec.dtype = KernelDType::Int;
    } else if (s == "float") {
      spec.dtype = KernelDType::Float;
      if (spec.bitwidth != 16 && spec.bitwidth != 32)
        fail_at(path, "a float kernel has bitwidth 16 or 32 (AIMET refuses others)");
    } else {
      fail_at(dt_path, "expected \"int\" or \"float\", got \"" + printable(s) + "\"");
    }
    return spec;
  }

  // `param_required`: defaults' entries need both halves; op_type entries may omit `param`.
  std::vector<SupportedKernel> kernels(const json& j, const std::string& path,
                                       bool param_required) const {
    expect_array(j, path);
    if (j.empty()) fail_at(path, "expected at least one entry");
    check_count(j, path, ConfigLimits::max_supported_kernels);
    std::vector<SupportedKernel> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const std::string p = element(path, i);
      const json& e = j[i];
      expect_object(e, p);
      allowed_keys(e, p, {"activation", "param"});
      require(e, p, "activation");
      if (param_required) require(e, p, "param");
      SupportedKernel k{kernel_type(e.at("activation"), child(p, "activation")), std::nullopt};
      if (e.contains("param")) k.param = kernel_type(e.at("param"), child(p, "param"));
      out.push_back(k);
    }
    return out;
  }

  double finite_number(const json& obj, const std::string& path, std::string_view key) const {
    const std::string p = child(path, key);
    const json& v = obj.at(key);
    if (!v.is_number()) fail_at(p, std::string("expected a number, got ") + v.type_name());
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail_at(p, "expected a finite number");
    return d;
  }

  EncodingConstraints constraints(const json& j, const std::string& path) const {
    expect_object(j, path);
    // AIMET's schema has no additionalProperties: false here: other keys pass and are unused.
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "min" && it.key() != "max")
        warn_at(child(path, it.key()), "ignored (AIMET's schema allows it and does not use it)");
    // Either end or both (AIMET's HTP v75 configs give Relu only "min": 0.0).
    if (!j.contains("min") && !j.contains("max")) fail_at(path, "names neither 'min' nor 'max'");
    EncodingConstraints c;
    if (j.contains("min")) c.min = finite_number(j, path, "min");
    if (j.contains("max")) c.max = finite_number(j, path, "max");
    if (c.min && c.max && !(*c.min < *c.max)) fail_at(path, "expected min < max");
    return c;
  }

  ConfigDefaults defaults(const json& j, const std::string& path) const {
    expect_object(j, path);
    allowed_keys(j, path,
                 {"ops", "params", "strict_symmetric", "unsigned_symmetric",
                  "per_channel_quantization", "supported_kernels", "hw_version"});
    require(j, path, "ops");
    require(j, path, "params");
    ConfigDefaults d;
    const json& ops = j.at("ops");
    const std::string ops_path = child(path, "ops");
    expect_object(ops, ops_path);
    allowed_keys(ops, ops_path, {"is_input_quantized", "is_output_quantized", "is_symmetric"});
    d.ops.is_input_quantized = flag(ops, ops_path, "is_input_quantized");
    d.ops.is_output_quantized = flag(ops, ops_path, "is_output_quantized");
    d.ops.is_symmetric = flag(ops, ops_path, "is_symmetric");
    d.params = param_flags(j.at("params"), child(path, "params"));
    d.strict_symmetric = flag(j, path, "strict_symmetric");
    d.unsigned_symmetric = flag(j, path, "unsigned_symmetric");
    d.per_channel_quantization = flag(j, path, "per_channel_quantization");
    if (j.contains("supported_kernels"))
      d.supported_kernels =
          kernels(j.at("supported_kernels"), child(path, "supported_kernels"), true);
    if (j.contains("hw_version")) {
      const json& hw = j.at("hw_version");
      const std::string p = child(path, "hw_version");
      if (!hw.is_string()) fail_at(p, std::string("expected a string, got ") + hw.type_name());
      const auto& s = hw.get_ref<const std::string&>();
      if (s.size() > ConfigLimits::max_name_length || printable(s) != s)
        fail_at(p, "expected a printable string of at most 64 characters");
      d.hw_version = s;
    }
    return d;
  }

  OpTypeConfig op_config(const json& j, const std::string& path) const {
    expect_object(j, path);
    allowed_keys(j, path,
                 {"is_input_quantized", "is_output_quantized", "is_symmetric",
                  "per_channel_quantization", "params", "supported_kernels",
                  "encoding_constraints"});
    OpTypeConfig o;
    o.is_input_quantized = flag(j, path, "is_input_quantized");
    o.is_output_quantized = flag(j, path, "is_output_quantized");
    o.is_symmetric = flag(j, path, "is_symmetric");
    o.per_channel_quantization = flag(j, path, "per_channel_quantization");
    if (j.contains("params")) o.params = param_map(j.at("params"), child(path, "params"));
    if (j.contains("supported_kernels"))
      o.supported_kernels =
          kernels(j.at("supported_kernels"), child(path, "supported_kernels"), false);
    if (j.contains("encoding_constraints"))
      o.encoding_constraints =
          constraints(j.at("encoding_constraints"), child(path, "encoding_constraints"));
    return o;
  }

  std::vector<Supergroup> supergroups(const json& j, const std::string& path) const {
    expect_array(j, path);
    check_count(j, path, ConfigLimits::max_supergroups);
    std::vector<Supergroup> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const std::string p = element(path, i);
      const json& e = j[i];
      expect_object(e, p);
      allowed_keys(e, p, {"op_list"});
      require(e, p, "op_list");
      const json& list = e.at("op_list");
      const std::string lp = child(p, "op_list");
      expect_array(list, lp);
      if (list.size() < 2) fail_at(lp, "expected at least 2 op types");
      check_count(list, lp, ConfigLimits::max_supergroup_ops);
      Supergroup g;
      for (std::size_t k = 0; k < list.size(); ++k) {
        const std::string kp = element(lp, k);
        if (!list[k].is_string())
          fail_at(kp, std::string("expected an op type string, got ") + list[k].type_name());
        const auto& name = list[k].get_ref<const std::string&>();
        check_name(name, kp, "op type");
        g.op_list.push_back(name);
      }
      out.push_back(std::move(g));
    }
    return out;
  }

  QuantsimConfigData config(const json& root) const {
    expect_object(root, "");
    allowed_keys(root, "",
                 {"defaults", "params", "op_type", "supergroups", "supergroup_pass_list",
                  "model_input", "model_output", "tensor_bitwidths"});
    for (const char* section :
         {"defaults", "params", "op_type", "supergroups", "model_input", "model_output"})
      require(root, "", section);
    QuantsimConfigData c;
    c.defaults = defaults(root.at("defaults"), "defaults");
    c.params = param_map(root.at("params"), "params");

    const json& ops = root.at("op_type");
    expect_object(ops, "op_type");
    check_count(ops, "op_type", ConfigLimits::max_op_types);
    for (auto it = ops.begin(); it != ops.end(); ++it) {
      const std::string p = child("op_type", it.key());
      check_name(it.key(), p, "op type");
      c.op_type[it.key()] = op_config(it.value(), p);
    }

    c.supergroups = supergroups(root.at("supergroups"), "supergroups");
    if (root.contains("supergroup_pass_list"))
      c.supergroup_pass_list = pass_list(root.at("supergroup_pass_list"), "supergroup_pass_list");

    const json& in = root.at("model_input");
    expect_object(in, "model_input");
    allowed_keys(in, "model_input", {"is_input_quantized"});
    c.model_input_quantized = flag(in, "model_input", "is_input_quantized");

    const json& out = root.at("model_output");
    expect_object(out, "model_output");
    allowed_keys(out, "model_output", {"is_output_quantized"});
    c.model_output_quantized = flag(out, "model_output", "is_output_quantized");
    if (root.contains("tensor_bitwidths"))
      c.tensor_bitwidths = tensor_bitwidths(root.at("tensor_bitwidths"), "tensor_bitwidths");
    aimet_refusals(c);
    return c;
  }

  std::map<std::string, int> tensor_bitwidths(const json& j, const std::string& path) const {
    expect_object(j, path);
    check_count(j, path, ConfigLimits::max_tensor_bitwidths);
    std::map<std::string, int> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string p = child(path, it.key());
      if (it.key().empty() || it.key().size() > ConfigLimits::max_tensor_name_length)
        fail_at(p, "a tensor name has 1 to " + std::to_string(ConfigLimits::max_tensor_name_length) +
                       " bytes");
      if (!it->is_number_integer())
        fail_at(p, std::string("expected an integer bitwidth, got ") + it->type_name());
      const int64_t bits = it->get<int64_t>();
      if (bits < 2 || bits > 32) fail_at(p, "bitwidth " + std::to_string(bits) + " is outside [2, 32]");
      out[it.key()] = static_cast<int>(bits);
    }
    return out;
  }

  std::vector<std::string> pass_list(const json& j, const std::string& path) const {
    expect_array(j, path);
    check_count(j, path, ConfigLimits::max_passes);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const std::string p = element(path, i);
      if (!j[i].is_string())
        fail_at(p, std::string("expected a graph pass name, got ") + j[i].type_name());
      const auto& name = j[i].get_ref<const std::string&>();
      bool known = false;
      std::string list;
      for (const char* k : kAimetGraphPasses) {
        known = known || name == k;
        list += (list.empty() ? "" : ", ") + std::string(k);
      }
      // aimet_onnx raises "Graph pass requested but not found" for any other name.
      if (!known) fail_at(p, "unknown graph pass '" + printable(name) + "' (AIMET has: " + list + ")");
      out.push_back(name);
    }
    return out;
  }

  // Settings AIMET's json_config_importer refuses with NotImplementedError after the schema
  // check. octet gives them their plain meaning, and says that AIMET would not load the file.
  void aimet_refusals(const QuantsimConfigData& c) const {
    const char* why = "AIMET refuses this setting (NotImplementedError); octet applies it";
    if (c.defaults.ops.is_input_quantized) warn_at("defaults.ops.is_input_quantized", why);
    if (c.defaults.ops.is_output_quantized == std::optional<bool>(false))
      warn_at("defaults.ops.is_output_quantized", why);
    for (const auto& [type, o] : c.op_type)
      if (o.is_input_quantized == std::optional<bool>(false))
        warn_at(child(child("op_type", type), "is_input_quantized"), why);
    if (c.model_input_quantized == std::optional<bool>(false))
      warn_at("model_input.is_input_quantized", why);
    if (c.model_output_quantized == std::optional<bool>(false))
      warn_at("model_output.is_output_quantized", why);
  }

 private:
  const std::string& source_;
  std::vector<std::string>& warnings_;
};

// Parses JSON text, rejecting nesting deeper than ConfigLimits::max_depth. A duplicate key keeps
// its last value (nlohmann's rule, and Python's json module's, which AIMET reads with) and gives
// a warning naming it.
json parse_json(std::string_view text, const Reader& reader) {
  struct Frame {
    bool array = false;
    std::size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<Frame> frames;
  const auto path = [&frames]() {
    std::string p;
    for (const Frame& f : frames) p = f.array ? element(p, f.index) : child(p, f.key);
    return p;
  };
  const auto element_done = [&frames]() {
    if (!frames.empty() && frames.back().array) ++frames.back().index;
  };
  json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (frames.size() >= ConfigLimits::max_depth)
          reader.fail_at(path(), "nested deeper than " + std::to_string(ConfigLimits::max_depth) +
                                     " levels");
        frames.push_back({event == json::parse_event_t::array_start, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          reader.warn_at(path(), "duplicate key: the last value is used (as AIMET's Python JSON "
                                 "reader does)");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  try {
    return json::parse(text.data(), text.data() + text.size(), callback,
                       /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    reader.fail_at("", std::string("invalid JSON: ") + e.what());
  }
}

// aimet_torch's names of the QNN backend op a module becomes (translation_mapping.py), by the
// ONNX op type the module exports to. The backend_aware_* configs key op_type by these names.
const char* backend_op_name(const std::string& onnx_type) {
  static const std::map<std::string, const char*> names = {
      {"Conv", "Conv2d"}, {"ConvTranspose", "TransposeConv2d"}, {"Relu", "Relu"},
      {"Tanh", "Tanh"}, {"Sigmoid", "Sigmoid"}, {"Elu", "Elu"}, {"HardSwish", "HardSwish"},
      {"Add", "ElementWiseAdd"}, {"Sub", "ElementWiseSubtract"}, {"Mul", "ElementWiseMultiply"},
      {"Div", "ElementWiseDivide"}, {"Min", "ElementWiseMinimum"}, {"Max", "ElementWiseMaximum"},
      {"Pow", "ElementWisePower"}, {"Exp", "ElementWiseExp"}, {"Log", "ElementWiseLog"},
      {"Abs", "ElementWiseAbs"}, {"Neg", "ElementWiseNeg"}, {"Erf", "Gelu"}, {"Gelu", "Gelu"},
      {"Round", "ElementWiseRound"}, {"Where", "ElementWiseSelect"}, {"Equal", "ElementWiseEqual"},
      {"Greater", "ElementWiseGreater"}, {"Less", "ElementWiseLess"},
      {"GreaterOrEqual", "ElementWiseGreaterEqual"}, {"LessOrEqual", "ElementWiseLessEqual"},
      {"Or", "ElementWiseOr"}, {"And", "ElementWiseAnd"}, {"Not", "ElementWiseNot"},
      {"ReduceMean", "ReduceMean"}, {"ReduceSum", "ReduceSum"}, {"ReduceProd", "ReduceProd"},
      {"ReduceMin", "ReduceMin"}, {"ReduceMax", "ReduceMax"}, {"Ceil", "ElementWiseCeil"},
      {"Floor", "ElementWiseFloor"}, {"Split", "Split"}, {"Concat", "Concat"},
      {"MaxPool", "PoolMax2d"}, {"AveragePool", "PoolAvg2d"}, {"Reshape", "Reshape"},
      {"Transpose", "Transpose"}, {"Resize", "Resize"}, {"Gemm", "FullyConnected"},
      {"Softmax", "Softmax"}, {"LogSoftmax", "LogSoftmax"}, {"LayerNormalization", "LayerNorm"},
      {"Softplus", "ElementWiseSoftplus"}, {"PRelu", "Prelu"}, {"LeakyRelu", "Prelu"},
      {"Gather", "Gather"}, {"InstanceNormalization", "InstanceNorm"}, {"MatMul", "MatMul"},
      {"CumSum", "CumulativeSum"}, {"ArgMin", "Argmin"}, {"ArgMax", "Argmax"},
      {"Sin", "ElementWiseSin"}, {"Cos", "ElementWiseCos"}, {"Asin", "ElementWiseAsin"},
      {"Atan", "ElementWiseAtan"}, {"Pad", "Pad"}, {"Sign", "ElementWiseUnary"},
      {"DepthToSpace", "DepthToSpace"}, {"SpaceToDepth", "SpaceToDepth"}, {"NonZero", "NonZero"},
      {"TopK", "TopK"}, {"Shape", "Shape"}, {"Tile", "Tile"}, {"LRN", "Lrn"}, {"LSTM", "Lstm"},
      {"GRU", "Gru"}, {"ScatterND", "ScatterNd"}, {"RoiAlign", "RoiAlign"},
      {"NonMaxSuppression", "NonMaxSuppression"}, {"GatherND", "GatherNd"},
      {"BatchNormalization", "Batchnorm"}, {"OneHot", "OneHot"},
      {"ScatterElements", "ScatterElements"}, {"Cast", "Cast"}, {"Slice", "StridedSlice"},
      {"GroupNormalization", "GroupNorm"}};
  const auto it = names.find(onnx_type);
  return it == names.end() ? nullptr : it->second;
}

}  // namespace

const OpTypeConfig* QuantsimConfig::op_config(const std::string& op_type,
                                              OpTypeConfig& merged) const {
  const auto onnx = data_.op_type.find(op_type);
  const char* backend_name = backend_op_name(op_type);
  const auto backend = backend_name && op_type != backend_name ? data_.op_type.find(backend_name)
                                                               : data_.op_type.end();
  if (backend == data_.op_type.end()) return onnx == data_.op_type.end() ? nullptr : &onnx->second;
  if (onnx == data_.op_type.end()) return &backend->second;
  // aimet_torch's merge_op_type_config: the ONNX entry, with the backend entry's kernels.
  merged = onnx->second;
  if (!backend->second.supported_kernels.empty())
    merged.supported_kernels = backend->second.supported_kernels;
  return &merged;
}

QuantsimConfig QuantsimConfig::parse(std::string_view text, const std::string& source) {
  QuantsimConfig config;
  const Reader reader(source, config.warnings_);
  if (text.size() > ConfigLimits::max_file_bytes)
    reader.fail_at("", "config is larger than the limit of " +
                           std::to_string(ConfigLimits::max_file_bytes) + " bytes");
  const json root = parse_json(text, reader);
  config.data_ = reader.config(root);
  config.source_ = source;
  return config;
}

QuantsimConfig QuantsimConfig::load(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(name, ": cannot open quantsim config: no such file");
  const std::vector<std::byte> bytes = read_file_bytes(name, ConfigLimits::max_file_bytes);
  return parse(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), name);
}

QuantsimConfig QuantsimConfig::load_shipped(std::string_view name) {
  return load(shipped_config_path(name));
}

ResolvedOp QuantsimConfig::resolve_op(const std::string& op_type) const {
  const ConfigDefaults& d = data_.defaults;
  ResolvedOp r;
  r.input_quantized = d.ops.is_input_quantized.value_or(false);
  r.output_quantized = d.ops.is_output_quantized.value_or(false);
  r.symmetric = d.ops.is_symmetric.value_or(false);
  r.strict_symmetric = d.strict_symmetric.value_or(false);
  r.unsigned_symmetric = d.unsigned_symmetric.value_or(false);
  r.per_channel = d.per_channel_quantization.value_or(false);
  r.supported_kernels = d.supported_kernels;
  OpTypeConfig merged;
  const OpTypeConfig* found = op_config(op_type, merged);
  if (!found) return r;
  const OpTypeConfig& o = *found;
  r.input_quantized = o.is_input_quantized.value_or(r.input_quantized);
  r.output_quantized = o.is_output_quantized.value_or(r.output_quantized);
  r.symmetric = o.is_symmetric.value_or(r.symmetric);
  r.per_channel = o.per_channel_quantization.value_or(r.per_channel);
  if (!o.supported_kernels.empty()) r.supported_kernels = o.supported_kernels;
  r.encoding_constraints = o.encoding_constraints;
  return r;
}

ResolvedParam QuantsimConfig::resolve_param(const std::string& op_type,
                                            const std::string& param) const {
  const ConfigDefaults& d = data_.defaults;
  ResolvedParam r;
  r.quantized = d.params.is_quantized.value_or(false);
  r.symmetric = d.params.is_symmetric.value_or(false);
  r.strict_symmetric = d.strict_symmetric.value_or(false);
  r.unsigned_symmetric = d.unsigned_symmetric.value_or(false);
  r.per_channel = d.per_channel_quantization.value_or(false);
  const auto apply = [&r](const ParamFlags& f) {
    r.quantized = f.is_quantized.value_or(r.quantized);
    r.symmetric = f.is_symmetric.value_or(r.symmetric);
  };
  if (const auto p = data_.params.find(param); p != data_.params.end()) apply(p->second);
  OpTypeConfig merged;
  if (const OpTypeConfig* o = op_config(op_type, merged)) {
    r.per_channel = o->per_channel_quantization.value_or(r.per_channel);
    if (const auto p = o->params.find(param); p != o->params.end()) apply(p->second);
  }
  return r;
}

std::vector<std::string> QuantsimConfig::unapplied() const {
  std::vector<std::string> out;
  const QuantsimConfigData& d = data_;
  if (d.defaults.hw_version)
    out.push_back("defaults.hw_version \"" + *d.defaults.hw_version +
                  "\": names the target for AIMET's op-instance rules; octet's placement does "
                  "not depend on it");
  if (!d.supergroup_pass_list.empty()) {
    std::string list;
    for (const std::string& p : d.supergroup_pass_list) list += (list.empty() ? "" : ", ") + p;
    out.push_back("supergroup_pass_list [" + list +
                  "]: aimet_onnx graph passes over decomposed patterns; octet does not run them "
                  "(quantizers inside such patterns stay where the op types put them)");
  }
  std::string inputs;
  for (const auto& [type, o] : d.op_type)
    if (o.is_input_quantized.value_or(false)) inputs += (inputs.empty() ? "" : ", ") + type;
  if (!inputs.empty())
    out.push_back("op_type.<T>.is_input_quantized for " + inputs +
                  ": octet quantizes a tensor at its producer's output, not at a consumer's input");
  return out;
}

std::string describe_kernel(const SupportedKernel& k) {
  const auto one = [](const KernelTypeSpec& t) {
    return std::string(t.dtype == KernelDType::Int ? "int" : "float") + std::to_string(t.bitwidth);
  };
  std::string s = "activation " + one(k.activation);
  if (k.param) s += " / param " + one(*k.param);
  return s;
}

bool kernels_support(const std::vector<SupportedKernel>& kernels, int act_bitwidth,
                     std::optional<int> param_bitwidth) {
  if (kernels.empty()) return true;
  for (const SupportedKernel& k : kernels) {
    if (k.activation.dtype != KernelDType::Int || k.activation.bitwidth != act_bitwidth) continue;
    if (param_bitwidth && k.param &&
        (k.param->dtype != KernelDType::Int || k.param->bitwidth != *param_bitwidth))
      continue;
    return true;
  }
  return false;
}

std::filesystem::path shipped_config_dir() { return shipped_data_dir(ShippedKind::kConfigs); }

std::filesystem::path shipped_config_path(std::string_view name) {
  std::string base(name);
  if (base.size() > 5 && base.ends_with(".json")) base.resize(base.size() - 5);
  bool ok = !base.empty() && base.size() <= ConfigLimits::max_name_length;
  for (char c : base)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-');
  if (!ok) fail("invalid shipped quantsim config name '", printable(name), "'");
  const std::filesystem::path dir = shipped_config_dir();
  std::filesystem::path path = dir / (base + ".json");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail("shipped quantsim config '", base, "' not found in ", dir.string());
  return path;
}

}  // namespace octet::quant
