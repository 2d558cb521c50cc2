// Reader of AIMET's quantsim config JSON (the `config_file=` of QuantizationSimModel) and the
// per-op / per-parameter settings it implies after AIMET's override order.
//
// File format (AIMET quantsim_config_schema.py, as of 2025): six required top-level sections
// and one optional one
//   defaults     {ops{is_input_quantized,is_output_quantized,is_symmetric},
//                 params{is_quantized,is_symmetric}, strict_symmetric, unsigned_symmetric,
//                 per_channel_quantization, supported_kernels[], hw_version}
//   params       {<param name>: {is_quantized,is_symmetric}}
//   op_type      {<ONNX op type>: {is_input_quantized,is_output_quantized,is_symmetric,
//                 per_channel_quantization, params{<name>:{...}}, supported_kernels[],
//                 encoding_constraints{min?,max?}}}
//   supergroups  [{op_list: [>= 2 ONNX op types]}]
//   supergroup_pass_list [<graph pass name>]   (optional; aimet_onnx graph passes)
//   model_input  {is_input_quantized}
//   model_output {is_output_quantized}
// Flags are the strings "True" / "False" as AIMET's schema requires (JSON booleans are rejected,
// as AIMET does). A `supported_kernels` entry of `defaults` needs `activation` and `param`; one
// of `op_type.<T>` may give `activation` only (AIMET: the op has no parameter to constrain).
// Kernel bitwidths are 4, 8, 16 or 32; a float kernel only 16 or 32 (AIMET raises otherwise).
// Unknown keys, wrong types and oversized inputs are errors
// (octet::Error "<file>: <json.path>: <problem>"), as they are for AIMET's schema. Duplicate keys
// follow Python's json module (the last one wins) and give a warning. Settings AIMET accepts but
// octet does not apply (hw_version, supergroup_pass_list, is_input_quantized of op types,
// encoding_constraints) are kept and listed by QuantsimConfig::unapplied().
#pragma once
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace octet::quant {

// ---- the file, as written (absent keys stay std::nullopt) ----------------------------------

enum class KernelDType { Int, Float };

struct KernelTypeSpec {
  int bitwidth = 8;  // 4, 8, 16 or 32
  KernelDType dtype = KernelDType::Int;
};

// One entry of `supported_kernels`: a (activation, param) pair of bitwidth/dtype an op's kernel
// exists for. `param` absent (op_type entries only): any parameter setting.
struct SupportedKernel {
  KernelTypeSpec activation;
  std::optional<KernelTypeSpec> param;
};

// E.g. "activation int16 / param int8", "activation float16".
std::string describe_kernel(const SupportedKernel& k);

// Whether some entry of `kernels` has integer activations of `act_bitwidth` and (when the entry
// names one and `param_bitwidth` is given) integer params of `param_bitwidth`. An empty list
// (no supported_kernels in the config) supports everything.
bool kernels_support(const std::vector<SupportedKernel>& kernels, int act_bitwidth,
                     std::optional<int> param_bitwidth);

// Fixed ends of an op's output range (`op_type.<T>.encoding_constraints`): the ends given are
// kept, the others calibrated (AIMET's HTP configs pin Relu's min to 0, Tanh's to [-1, 1]).
struct EncodingConstraints {
  std::optional<double> min;
  std::optional<double> max;
};

struct ParamFlags {
  std::optional<bool> is_quantized;
  std::optional<bool> is_symmetric;
};

struct OpDefaults {
  std::optional<bool> is_input_quantized;
  std::optional<bool> is_output_quantized;
  std::optional<bool> is_symmetric;
};

struct ConfigDefaults {
  OpDefaults ops;
  ParamFlags params;
  std::optional<bool> strict_symmetric;
  std::optional<bool> unsigned_symmetric;
  std::optional<bool> per_channel_quantization;
  std::vector<SupportedKernel> supported_kernels;  // empty: not given
  std::optional<std::string> hw_version;
};

struct OpTypeConfig {
  std::optional<bool> is_input_quantized;
  std::optional<bool> is_output_quantized;
  std::optional<bool> is_symmetric;  // the op's activation (input/output) quantizers
  std::optional<bool> per_channel_quantization;
  std::map<std::string, ParamFlags> params;        // by param name ("weight", "bias")
  std::vector<SupportedKernel> supported_kernels;  // empty: not given
  std::optional<EncodingConstraints> encoding_constraints;
};

struct Supergroup {
  std::vector<std::string> op_list;  // ONNX op types, producer first, >= 2
};

struct QuantsimConfigData {
  ConfigDefaults defaults;
  std::map<std::string, ParamFlags> params;    // section `params`, by param name
  std::map<std::string, OpTypeConfig> op_type;  // section `op_type`, by ONNX op type
  std::vector<Supergroup> supergroups;
  std::vector<std::string> supergroup_pass_list;  // aimet_onnx graph passes, by name
  std::optional<bool> model_input_quantized;   // model_input.is_input_quantized
  std::optional<bool> model_output_quantized;  // model_output.is_output_quantized
  // octet's addition to AIMET's format: bitwidths of single tensors' quantizers, by tensor
  // name (what `octet analyze` writes for the most sensitive layers; --bits in the file).
  std::map<std::string, int> tensor_bitwidths;
};

// ---- effective settings ---------------------------------------------------------------------

// Settings of one op's activation quantizers. A flag absent at every level is false (AIMET
// starts from all quantizers disabled, asymmetric, per-tensor).
struct ResolvedOp {
  bool input_quantized = false;
  bool output_quantized = false;
  bool symmetric = false;           // activation encodings symmetric
  bool strict_symmetric = false;    // global (defaults)
  bool unsigned_symmetric = false;  // global (defaults)
  bool per_channel = false;         // per-channel quantization of this op's params
  std::optional<EncodingConstraints> encoding_constraints;
  std::vector<SupportedKernel> supported_kernels;  // op's list, else the defaults' list
};

// Settings of one parameter quantizer (param `param` of an op of type `op_type`).
struct ResolvedParam {
  bool quantized = false;
  bool symmetric = false;
  bool strict_symmetric = false;
  bool unsigned_symmetric = false;
  bool per_channel = false;
};

// Size limits applied while reading.
struct ConfigLimits {
  static constexpr std::size_t max_file_bytes = 1u << 20;
  static constexpr std::size_t max_depth = 16;
  static constexpr std::size_t max_op_types = 1024;
  static constexpr std::size_t max_param_names = 64;
  static constexpr std::size_t max_supergroups = 256;
  static constexpr std::size_t max_supergroup_ops = 16;
  static constexpr std::size_t max_supported_kernels = 64;
  static constexpr std::size_t max_name_length = 64;
  static constexpr std::size_t max_passes = 64;
  static constexpr std::size_t max_tensor_bitwidths = 100000;
  static constexpr std::size_t max_tensor_name_length = 4096;
};

// The graph passes aimet_onnx registers for `supergroup_pass_list` (aimet_onnx/graph_passes:
// each disables the quantizers inside a decomposed pattern). AIMET refuses other names.
inline constexpr const char* kAimetGraphPasses[] = {"DecoderBlock", "LayerNormalization",
                                                    "MatmulAdd", "RMSNormalization"};

class QuantsimConfig {
 public:
  // Reads and validates a config file. Throws octet::Error naming the file and JSON path.
  static QuantsimConfig load(const std::filesystem::path& path);
  // Parses config text; `source` names it in error messages.
  static QuantsimConfig parse(std::string_view text, const std::string& source);
  // Loads one of the configs shipped in quant/configs ("default_config", "ort_u8s8_per_channel",
  // "tflite_s8"; a trailing ".json" is optional).
  static QuantsimConfig load_shipped(std::string_view name);

  // Override order (general -> specific, a later level wins where it sets the key):
  //   op:    defaults.ops -> op_type.<T>
  //          (per_channel: defaults.per_channel_quantization -> op_type.<T>.per_channel_quantization;
  //           supported_kernels: defaults -> op_type.<T>)
  //   param: defaults.params -> params.<name> -> op_type.<T>.params.<name>
  //          (per_channel as for the op; strict/unsigned symmetric from defaults)
  // An op type's entry is `op_type.<ONNX type>`, or, as aimet_torch reads the backend_aware_*
  // configs, `op_type.<QNN backend name>` (Conv -> Conv2d, Gemm -> FullyConnected, Add ->
  // ElementWiseAdd, ...): with both, the ONNX entry with the backend entry's supported_kernels.
  // supergroups, model_input and model_output apply on the graph (they come after op_type in
  // AIMET's order): see supergroups(), model_input_quantized(), model_output_quantized().
  ResolvedOp resolve_op(const std::string& op_type) const;
  ResolvedParam resolve_param(const std::string& op_type, const std::string& param) const;

  const std::vector<Supergroup>& supergroups() const { return data_.supergroups; }
  const std::map<std::string, int>& tensor_bitwidths() const { return data_.tensor_bitwidths; }
  std::optional<bool> model_input_quantized() const { return data_.model_input_quantized; }
  std::optional<bool> model_output_quantized() const { return data_.model_output_quantized; }

  const QuantsimConfigData& data() const { return data_; }
  const std::string& source() const { return source_; }
  // What reading tolerated: duplicate keys (the last one was used), extra keys AIMET's schema
  // allows and ignores, settings AIMET itself refuses at run time (NotImplementedError) that
  // octet applies. Each line starts with the file name.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Settings read and validated that octet's placement does not apply (one line each):
  // hw_version, supergroup_pass_list, is_input_quantized of op types, encoding_constraints.
  std::vector<std::string> unapplied() const;

 private:
  // The entry that applies to `op_type` (null: none); `merged` holds a merged one.
  const OpTypeConfig* op_config(const std::string& op_type, OpTypeConfig& merged) const;

  QuantsimConfigData data_;
  std::string source_;
  std::vector<std::string> warnings_;
};

// Directory holding the shipped configs (search order: engine/shipped_data.h).
std::filesystem::path shipped_config_dir();
// Path of a shipped config by name (see QuantsimConfig::load_shipped); throws if the name is not
// a plain file name or the file does not exist.
std::filesystem::path shipped_config_path(std::string_view name);

}  // namespace octet::quant
