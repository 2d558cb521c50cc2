// AIMET quantsim config JSON: the shipped configs, AIMET's override order, and rejection of bad
// files with messages that name the file and the JSON path of the problem.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "quant/quantsim_config.h"

using namespace octet;
using namespace octet::quant;
namespace fs = std::filesystem;

namespace {

// A per-process scratch directory, removed at exit.
fs::path temp_dir() {
  struct Dir {
    fs::path path = fs::temp_directory_path() / ("octet_qcfg_test_" + std::to_string(getpid()));
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const Dir dir;
  fs::create_directories(dir.path);
  return dir.path;
}

fs::path write_file(const std::string& name, const std::string& text) {
  fs::path path = temp_dir() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The message of the octet::Error that `f` throws ("" if none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A valid config with `sections` spliced in front of the required ones that it does not override.
std::string config_with(const std::string& defaults, const std::string& rest) {
  return "{\"defaults\": " + defaults + ",\n" + rest + "}";
}

const std::string kMinimalDefaults =
    R"({"ops": {"is_output_quantized": "True"}, "params": {"is_quantized": "True"}})";
const std::string kMinimalRest =
    R"("params": {}, "op_type": {}, "supergroups": [], "model_input": {}, "model_output": {})";

std::vector<std::vector<std::string>> op_lists(const QuantsimConfig& c) {
  std::vector<std::vector<std::string>> out;
  for (const auto& g : c.supergroups()) out.push_back(g.op_list);
  return out;
}

}  // namespace

TEST_CASE("quantsim config: every shipped config parses") {
  const fs::path dir = shipped_config_dir();
  REQUIRE(fs::is_directory(dir));
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path().string());
    CHECK_NOTHROW(QuantsimConfig::load(entry.path()));
    ++count;
  }
  CHECK(count >= 3);
  for (const char* name : {"default_config", "ort_u8s8_per_channel", "tflite_s8.json"})
    CHECK_NOTHROW(QuantsimConfig::load_shipped(name));
}

TEST_CASE("quantsim config: default config resolves as AIMET's default_config") {
  const QuantsimConfig c = QuantsimConfig::load_shipped("default_config");
  CHECK(c.source().find("default_config.json") != std::string::npos);

  const ResolvedOp conv = c.resolve_op("Conv");
  CHECK(conv.output_quantized);
  CHECK_FALSE(conv.input_quantized);
  CHECK_FALSE(conv.symmetric);  // activations asymmetric
  CHECK_FALSE(conv.strict_symmetric);
  CHECK_FALSE(conv.unsigned_symmetric);
  CHECK_FALSE(conv.per_channel);
  CHECK_FALSE(conv.encoding_constraints.has_value());
  CHECK(conv.supported_kernels.empty());

  const ResolvedParam weight = c.resolve_param("Conv", "weight");
  CHECK(weight.quantized);
  CHECK(weight.symmetric);
  CHECK_FALSE(weight.strict_symmetric);
  CHECK_FALSE(weight.per_channel);
  const ResolvedParam bias = c.resolve_param("Gemm", "bias");
  CHECK_FALSE(bias.quantized);
  CHECK(bias.symmetric);  // from defaults.params; irrelevant while unquantized

  for (const char* op : {"Cast", "Dropout", "Expand", "Squeeze", "Pad", "Mean", "Gather"}) {
    CAPTURE(op);
    CHECK_FALSE(c.resolve_op(op).output_quantized);
  }
  CHECK(c.resolve_op("Relu").output_quantized);
  CHECK(c.resolve_op("SomeUnknownOp").output_quantized);  // defaults only

  const std::vector<std::vector<std::string>> expected = {
      {"Conv", "Relu"}, {"ConvTranspose", "Relu"}, {"Conv", "Clip"}, {"Add", "Relu"}, {"Gemm", "Relu"}};
  CHECK(op_lists(c) == expected);
  CHECK(c.model_input_quantized() == std::optional<bool>(true));
  CHECK_FALSE(c.model_output_quantized().has_value());
}

TEST_CASE("quantsim config: ORT and TFLite profiles") {
  for (const char* name : {"ort_u8s8_per_channel", "tflite_s8"}) {
    CAPTURE(name);
    const QuantsimConfig c = QuantsimConfig::load_shipped(name);
    const ResolvedParam w = c.resolve_param("Conv", "weight");
    CHECK(w.quantized);
    CHECK(w.symmetric);
    CHECK(w.strict_symmetric);  // int8 weights in [-127, 127]
    CHECK(w.per_channel);
    CHECK_FALSE(c.resolve_param("Conv", "bias").quantized);  // int32 bias derived by the runtime
    const ResolvedOp conv = c.resolve_op("Conv");
    CHECK(conv.output_quantized);
    CHECK_FALSE(conv.symmetric);
    REQUIRE(conv.supported_kernels.size() == 1);
    CHECK(conv.supported_kernels[0].activation.bitwidth == 8);
    CHECK(conv.supported_kernels[0].param->bitwidth == 8);
    CHECK(conv.supported_kernels[0].param->dtype == KernelDType::Int);
    for (const char* op : {"Reshape", "Transpose", "MaxPool", "Flatten"}) {
      CAPTURE(op);
      CHECK_FALSE(c.resolve_op(op).output_quantized);
    }
    CHECK(c.resolve_op("Concat").output_quantized);
  }
  const QuantsimConfig t = QuantsimConfig::load_shipped("tflite_s8");
  const ResolvedOp softmax = t.resolve_op("Softmax");
  REQUIRE(softmax.encoding_constraints.has_value());
  CHECK(softmax.encoding_constraints->min == 0.0);
  CHECK(softmax.encoding_constraints->max == 255.0 / 256.0);  // scale 1/256, int8 zp -128
  const ResolvedOp tanh = t.resolve_op("Tanh");
  REQUIRE(tanh.encoding_constraints.has_value());
  CHECK(tanh.encoding_constraints->min == -1.0);
  CHECK(tanh.encoding_constraints->max == 127.0 / 128.0);  // scale 1/128, int8 zp 0
}

TEST_CASE("quantsim config: override order defaults -> params -> op_type -> op_type.params") {
  const std::string text = R"({
    "defaults": {
      "ops": {"is_output_quantized": "True", "is_symmetric": "False"},
      "params": {"is_quantized": "True", "is_symmetric": "False"},
      "strict_symmetric": "True",
      "unsigned_symmetric": "True",
      "per_channel_quantization": "True",
      "supported_kernels": [{"activation": {"bitwidth": 16, "dtype": "int"},
                             "param": {"bitwidth": 8, "dtype": "int"}}],
      "hw_version": "V73"
    },
    "params": {
      "weight": {"is_symmetric": "True"},
      "bias": {"is_quantized": "False"}
    },
    "op_type": {
      "Gemm": {
        "per_channel_quantization": "False",
        "params": {"weight": {"is_symmetric": "False"}, "bias": {"is_quantized": "True"}}
      },
      "Conv": {
        "is_input_quantized": "True",
        "is_symmetric": "True",
        "supported_kernels": [{"activation": {"bitwidth": 8, "dtype": "int"},
                               "param": {"bitwidth": 4, "dtype": "int"}},
                              {"activation": {"bitwidth": 16, "dtype": "float"},
                               "param": {"bitwidth": 16, "dtype": "float"}}]
      },
      "Softmax": {"is_output_quantized": "False", "encoding_constraints": {"min": 0, "max": 1}}
    },
    "supergroups": [{"op_list": ["Conv", "BatchNormalization", "Relu"]}],
    "model_input": {"is_input_quantized": "False"},
    "model_output": {"is_output_quantized": "True"}
  })";
  const QuantsimConfig c = QuantsimConfig::parse(text, "inline.json");
  CHECK(c.data().defaults.hw_version == std::optional<std::string>("V73"));

  // defaults only
  const ResolvedParam mm_w = c.resolve_param("MatMul", "other");
  CHECK(mm_w.quantized);
  CHECK_FALSE(mm_w.symmetric);
  CHECK(mm_w.strict_symmetric);
  CHECK(mm_w.unsigned_symmetric);
  CHECK(mm_w.per_channel);
  // params.<name> over defaults.params
  CHECK(c.resolve_param("MatMul", "weight").symmetric);
  CHECK_FALSE(c.resolve_param("MatMul", "bias").quantized);
  CHECK(c.resolve_param("Conv", "weight").symmetric);  // op_type.Conv has no params block
  // op_type.<T>.params.<name> over params.<name>; op_type per-channel over defaults
  const ResolvedParam gemm_w = c.resolve_param("Gemm", "weight");
  CHECK(gemm_w.quantized);
  CHECK_FALSE(gemm_w.symmetric);
  CHECK_FALSE(gemm_w.per_channel);
  CHECK(c.resolve_param("Gemm", "bias").quantized);
  CHECK(c.resolve_param("Conv", "weight").per_channel);

  // op_type.<T> over defaults.ops; unset keys keep the defaults
  const ResolvedOp conv = c.resolve_op("Conv");
  CHECK(conv.input_quantized);
  CHECK(conv.output_quantized);
  CHECK(conv.symmetric);
  CHECK(conv.per_channel);
  REQUIRE(conv.supported_kernels.size() == 2);
  CHECK(conv.supported_kernels[0].param->bitwidth == 4);
  CHECK(conv.supported_kernels[1].activation.dtype == KernelDType::Float);
  const ResolvedOp relu = c.resolve_op("Relu");
  CHECK_FALSE(relu.input_quantized);
  CHECK(relu.output_quantized);
  CHECK_FALSE(relu.symmetric);
  REQUIRE(relu.supported_kernels.size() == 1);
  CHECK(relu.supported_kernels[0].activation.bitwidth == 16);
  const ResolvedOp softmax = c.resolve_op("Softmax");
  CHECK_FALSE(softmax.output_quantized);
  REQUIRE(softmax.encoding_constraints.has_value());
  CHECK(softmax.encoding_constraints->max == 1.0);

  REQUIRE(c.supergroups().size() == 1);
  CHECK(c.supergroups()[0].op_list.size() == 3);
  CHECK(c.model_input_quantized() == std::optional<bool>(false));
  CHECK(c.model_output_quantized() == std::optional<bool>(true));

  // Nothing set anywhere: every quantizer off, asymmetric, per-tensor.
  const QuantsimConfig empty = QuantsimConfig::parse(
      config_with(R"({"ops": {}, "params": {}})", kMinimalRest), "empty.json");
  const ResolvedOp e = empty.resolve_op("Conv");
  CHECK_FALSE(e.output_quantized);
  CHECK_FALSE(e.input_quantized);
  CHECK_FALSE(e.symmetric);
  CHECK_FALSE(empty.resolve_param("Conv", "weight").quantized);
  CHECK(empty.supergroups().empty());
}

TEST_CASE("quantsim config: bad configs name the file and the key") {
  struct Case {
    const char* file;
    std::string text;
    std::vector<std::string> expected;  // substrings of the message (besides the file name)
  };
  const std::string d = kMinimalDefaults;
  const std::string r = kMinimalRest;
  const std::string base = R"("params": {}, "supergroups": [], "model_input": {}, "model_output": {})";
  const std::vector<Case> cases = {
      {"json_bool.json",
       config_with(d, base + R"(, "op_type": {"Conv": {"is_output_quantized": true}})"),
       {"op_type.Conv.is_output_quantized", "expected a boolean", "got boolean"}},
      {"bad_flag_string.json",
       config_with(d, base + R"(, "op_type": {"Conv": {"is_symmetric": "yes"}})"),
       {"op_type.Conv.is_symmetric", "\"yes\""}},
      {"flag_number.json", config_with(R"({"ops": {}, "params": {}, "strict_symmetric": 1})", r),
       {"defaults.strict_symmetric", "expected a boolean"}},
      {"unknown_default_key.json",
       config_with(R"({"ops": {"is_quantized": "True"}, "params": {}})", r),
       {"defaults.ops.is_quantized", "unknown key"}},
      {"unknown_section.json", config_with(d, r + R"(, "_comment": "x")"), {"_comment", "unknown key"}},
      {"tensor_bits_string.json", config_with(d, r + R"(, "tensor_bitwidths": {"conv_out": "16"})"),
       {"tensor_bitwidths.conv_out", "expected an integer bitwidth, got string"}},
      {"tensor_bits_range.json", config_with(d, r + R"(, "tensor_bitwidths": {"conv_out": 64})"),
       {"tensor_bitwidths.conv_out", "bitwidth 64 is outside [2, 32]"}},
      {"tensor_bits_array.json", config_with(d, r + R"(, "tensor_bitwidths": [16])"),
       {"tensor_bitwidths", "expected an object, got array"}},
      {"unknown_op_key.json",
       config_with(d, base + R"(, "op_type": {"Gemm": {"params": {"weight": {"bitwidth": "8"}}}})"),
       {"op_type.Gemm.params.weight.bitwidth", "unknown key"}},
      {"missing_section.json",
       config_with(d, R"("params": {}, "op_type": {}, "supergroups": [], "model_input": {})"),
       {"missing required key 'model_output'"}},
      {"missing_ops.json", config_with(R"({"params": {}})", r),
       {"defaults", "missing required key 'ops'"}},
      {"section_not_object.json",
       config_with(d, R"("params": [], "op_type": {}, "supergroups": [], "model_input": {}, "model_output": {})"),
       {"params", "expected an object, got array"}},
      {"supergroup_short.json",
       config_with(d, R"("params": {}, "op_type": {}, "model_input": {}, "model_output": {},
                         "supergroups": [{"op_list": ["Conv", "Relu"]}, {"op_list": ["Conv"]}])"),
       {"supergroups[1].op_list", "at least 2"}},
      {"supergroup_number.json",
       config_with(d, R"("params": {}, "op_type": {}, "model_input": {}, "model_output": {},
                         "supergroups": [{"op_list": ["Conv", 3]}])"),
       {"supergroups[0].op_list[1]", "expected an op type string"}},
      {"supergroup_extra_key.json",
       config_with(d, R"("params": {}, "op_type": {}, "model_input": {}, "model_output": {},
                         "supergroups": [{"op_list": ["Conv", "Relu"], "name": "x"}])"),
       {"supergroups[0].name", "unknown key"}},
      {"supergroup_bad_name.json",
       config_with(d, R"("params": {}, "op_type": {}, "model_input": {}, "model_output": {},
                         "supergroups": [{"op_list": ["Conv", "Re lu"]}])"),
       {"supergroups[0].op_list[1]", "invalid op type"}},
      {"supergroup_not_list.json",
       config_with(d, R"("params": {}, "op_type": {}, "model_input": {}, "model_output": {},
                         "supergroups": {"op_list": ["Conv", "Relu"]})"),
       {"supergroups", "expected an array"}},
      {"bad_op_type_name.json",
       config_with(d, base + R"(, "op_type": {"Conv/x": {}})"), {"op_type.Conv/x", "invalid op type"}},
      {"bad_bitwidth.json",
       config_with(R"({"ops": {}, "params": {}, "supported_kernels": [
                      {"activation": {"bitwidth": 7, "dtype": "int"}, "param": {"bitwidth": 8, "dtype": "int"}}]})",
                   r),
       {"defaults.supported_kernels[0].activation.bitwidth", "4, 8, 16, 32"}},
      {"bad_dtype.json",
       config_with(R"({"ops": {}, "params": {}, "supported_kernels": [
                      {"activation": {"bitwidth": 8, "dtype": "int"}, "param": {"bitwidth": 8, "dtype": "uint"}}]})",
                   r),
       {"defaults.supported_kernels[0].param.dtype", "\"int\" or \"float\""}},
      {"empty_kernels.json", config_with(R"({"ops": {}, "params": {}, "supported_kernels": []})", r),
       {"defaults.supported_kernels", "at least one"}},
      {"bad_constraints.json",
       config_with(d, base + R"(, "op_type": {"Softmax": {"encoding_constraints": {"min": 1, "max": 0}}})"),
       {"op_type.Softmax.encoding_constraints", "min < max"}},
      {"bad_hw_version.json", config_with(R"({"ops": {}, "params": {}, "hw_version": 73})", r),
       {"defaults.hw_version", "expected a string"}},
      {"model_output_key.json",
       config_with(d, R"("params": {}, "op_type": {}, "supergroups": [], "model_input": {},
                         "model_output": {"is_input_quantized": "True"})"),
       {"model_output.is_input_quantized", "unknown key"}},
      {"float_kernel_bitwidth.json",
       config_with(d, base + R"(, "op_type": {"Conv": {"supported_kernels": [
                      {"activation": {"bitwidth": 8, "dtype": "float"}}]}})"),
       {"op_type.Conv.supported_kernels[0].activation", "float kernel has bitwidth 16 or 32"}},
      {"defaults_kernel_without_param.json",
       config_with(R"({"ops": {}, "params": {}, "supported_kernels": [
                      {"activation": {"bitwidth": 8, "dtype": "int"}}]})", r),
       {"defaults.supported_kernels[0]", "missing required key 'param'"}},
      {"unknown_pass.json", config_with(d, r + R"(, "supergroup_pass_list": ["LayerNorm"])"),
       {"supergroup_pass_list[0]", "unknown graph pass 'LayerNorm'", "RMSNormalization"}},
      {"pass_not_string.json", config_with(d, r + R"(, "supergroup_pass_list": [3])"),
       {"supergroup_pass_list[0]", "expected a graph pass name"}},
      {"truncated.json", config_with(d, r).substr(0, 60), {"invalid JSON", "parse error"}},
      {"not_object.json", "[1, 2]", {"(top level)", "expected an object"}},
      {"empty.json", "", {"invalid JSON"}},
      {"deep.json", std::string(40, '[') + std::string(40, ']'), {"nested deeper than 16"}},
  };
  for (const Case& c : cases) {
    const std::string file = c.file;
    CAPTURE(file);
    const fs::path path = write_file(c.file, c.text);
    const std::string message = error_of([&] { QuantsimConfig::load(path); });
    CAPTURE(message);
    CHECK(message.find(c.file) != std::string::npos);
    for (const std::string& part : c.expected) CHECK(message.find(part) != std::string::npos);
  }
}

TEST_CASE("quantsim config: duplicate keys keep the last value with a warning (Python's rule)") {
  const std::string base = R"("params": {}, "supergroups": [], "model_input": {}, "model_output": {})";
  const QuantsimConfig c = QuantsimConfig::parse(
      config_with(kMinimalDefaults,
                  base + R"(, "op_type": {"Conv": {"is_output_quantized": "True"},
                                          "Conv": {"is_output_quantized": "False"}})"),
      "dup.json");
  CHECK_FALSE(c.resolve_op("Conv").output_quantized);
  REQUIRE(c.warnings().size() == 1);
  CHECK(c.warnings()[0].find("dup.json: op_type.Conv: duplicate key") == 0);
}

TEST_CASE("quantsim config: keys AIMET accepts and octet does not apply are kept and reported") {
  const QuantsimConfig c = QuantsimConfig::parse(
      config_with(R"({"ops": {"is_output_quantized": "True"}, "params": {}, "hw_version": "V79"})",
                  R"("params": {}, "supergroups": [], "model_input": {}, "model_output": {},
                     "supergroup_pass_list": ["LayerNormalization", "RMSNormalization"],
                     "op_type": {"Softmax": {"encoding_constraints": {"min": 0, "max": 1, "note": 2},
                                             "supported_kernels": [
                                               {"activation": {"bitwidth": 16, "dtype": "int"}},
                                               {"activation": {"bitwidth": 16, "dtype": "float"}}]},
                                 "Cast": {"is_input_quantized": "True"}})"),
      "kept.json");
  CHECK(c.data().supergroup_pass_list ==
        std::vector<std::string>{"LayerNormalization", "RMSNormalization"});
  const ResolvedOp softmax = c.resolve_op("Softmax");
  REQUIRE(softmax.supported_kernels.size() == 2);
  CHECK_FALSE(softmax.supported_kernels[0].param.has_value());
  CHECK(kernels_support(softmax.supported_kernels, 16, 8));  // no param entry: any param
  CHECK_FALSE(kernels_support(softmax.supported_kernels, 8, std::nullopt));
  CHECK(describe_kernel(softmax.supported_kernels[1]) == "activation float16");
  REQUIRE(c.warnings().size() == 1);  // the extra encoding_constraints key
  CHECK(c.warnings()[0].find("op_type.Softmax.encoding_constraints.note: ignored") !=
        std::string::npos);
  const std::vector<std::string> u = c.unapplied();
  REQUIRE(u.size() == 3);  // encoding_constraints are applied (calibration keeps the ends given)
  CHECK(u[0].find("hw_version \"V79\"") != std::string::npos);
  CHECK(u[1].find("supergroup_pass_list [LayerNormalization, RMSNormalization]") != std::string::npos);
  CHECK(u[2].find("is_input_quantized for Cast") != std::string::npos);
}

TEST_CASE("quantsim config: settings AIMET refuses at run time are applied with a warning") {
  const QuantsimConfig c = QuantsimConfig::parse(
      config_with(kMinimalDefaults, R"("params": {}, "op_type": {}, "supergroups": [],
                                       "model_input": {"is_input_quantized": "False"},
                                       "model_output": {})"),
      "refused.json");
  CHECK(c.model_input_quantized() == std::optional<bool>(false));
  REQUIRE(c.warnings().size() == 1);
  CHECK(c.warnings()[0].find("model_input.is_input_quantized: AIMET refuses") != std::string::npos);
}

TEST_CASE("quantsim config: size limits") {
  // A file over the size cap, valid JSON apart from its size.
  std::string huge = config_with(kMinimalDefaults, kMinimalRest);
  huge.insert(1, ConfigLimits::max_file_bytes, ' ');
  const fs::path path = write_file("huge.json", huge);
  std::string message = error_of([&] { QuantsimConfig::load(path); });
  CHECK(message.find("huge.json") != std::string::npos);
  CHECK(message.find("larger than") != std::string::npos);

  // Too many op types.
  std::string ops;
  for (std::size_t i = 0; i <= ConfigLimits::max_op_types; ++i)
    ops += (i ? ", " : "") + ("\"Op" + std::to_string(i) + "\": {}");
  const std::string many = config_with(
      kMinimalDefaults,
      R"("params": {}, "supergroups": [], "model_input": {}, "model_output": {}, "op_type": {)" + ops + "}");
  message = error_of([&] { QuantsimConfig::parse(many, "many.json"); });
  CHECK(message.find("many.json: op_type: too many entries") != std::string::npos);

  // Too long a supergroup.
  std::string list;
  for (std::size_t i = 0; i <= ConfigLimits::max_supergroup_ops; ++i) list += (i ? ", " : "") + std::string("\"Relu\"");
  const std::string longgroup = config_with(
      kMinimalDefaults,
      R"("params": {}, "op_type": {}, "model_input": {}, "model_output": {}, "supergroups": [{"op_list": [)" + list + "]}]");
  message = error_of([&] { QuantsimConfig::parse(longgroup, "long.json"); });
  CHECK(message.find("long.json: supergroups[0].op_list: too many entries") != std::string::npos);
}

TEST_CASE("quantsim config: file and shipped-config lookup errors") {
  std::string message = error_of([] { QuantsimConfig::load(temp_dir() / "does_not_exist.json"); });
  CHECK(message.find("does_not_exist.json") != std::string::npos);
  message = error_of([] { QuantsimConfig::load(temp_dir()); });
  CHECK(message.find("not a regular file") != std::string::npos);
  CHECK(shipped_config_path("default_config").filename() == "default_config.json");
  CHECK_THROWS_AS(shipped_config_path("../CMakeLists"), Error);
  CHECK_THROWS_AS(shipped_config_path(""), Error);
  message = error_of([] { QuantsimConfig::load_shipped("no_such_profile"); });
  CHECK(message.find("no_such_profile") != std::string::npos);
}
