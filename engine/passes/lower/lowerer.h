// The integer lowering's internals (the pass itself: engine/passes/lower_integer.h). One
// Lowerer walks the annotated float graph once and writes the integer graph; its work is split
// by job:
//   lowerer.cc            the walk, the rule table, the float fallback, graph outputs
//   encodings.cc          encodings as code types, code/plain versions of tensors,
//                         encodings passed along data movement
//   constants.cc          weights and biases as integer constants
//   linear_rules.cc       Conv, Gemm, MatMul (8-bit, W8A16, per-block int4)
//   elementwise_rules.cc  Add, Mul, pools, Softmax, Resize, pointwise functions as tables
//   movement_rules.cc     QuantizeLinear/DequantizeLinear, data movement on codes, Concat
// Not installed: nothing outside engine/passes/lower/ includes it.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.h"
#include "engine/op.h"
#include "engine/passes/lower_integer.h"
#include "engine/passes/pass_util.h"
#include "engine/target_profile.h"

namespace octet::lowering {

// A per-tensor activation encoding in a code type.
struct ActEnc {
  float scale;
  int32_t zero_point;  // in the code type's domain
  bool symmetric;
  DType type = DType::kUndefined;  // code type: the profile's 8-bit type, or its 16-bit one
};

inline bool is_code16(DType t) { return t == DType::kU16 || t == DType::kI16; }
inline int32_t code_type_min(DType t) {
  return t == DType::kI8 ? -128 : t == DType::kI16 ? -32768 : 0;
}
inline int32_t code_type_max(DType t) {
  return t == DType::kI8 ? 127 : t == DType::kU8 ? 255 : t == DType::kI16 ? 32767 : 65535;
}
inline const char* code_type_attr(DType t) {
  return t == DType::kU8 ? "u8" : t == DType::kI8 ? "i8" : t == DType::kU16 ? "u16" : "i16";
}
inline bool registered(const char* op) { return OpRegistry::instance().find(op) != nullptr; }

// Encoding-preserving ops pass their input's encoding on to outputs that have none (QuantSim's
// unquantized data-movement ops); pure rearrangements also pass an output's encoding back to
// an input that has none and no other reader. `own` receives the encodings the model gave.
void propagate_encodings(Graph& g, std::map<TensorId, QuantParams>* own);

class Lowerer {
 public:
  // A rule lowers one node, or says why it cannot (the node then runs in float).
  using RuleFn = bool (Lowerer::*)(const Node& node, std::string* why);
  struct Rule {
    std::string_view op_type;
    RuleFn lower;
  };
  // The rule of an op type: its own, or the one its traits give (encoding-preserving ops run
  // on codes, pointwise functions become lookup tables); null when it has none.
  static RuleFn rule_for(std::string_view op_type);

  // `in` is the pass's own annotated copy: encodings given to constants are written into it.
  Lowerer(Graph& in, const TargetProfile& profile, std::map<TensorId, QuantParams> own);

  LoweringReport run();
  Graph take() { return std::move(out_); }

 private:
  static std::span<const Rule> named_rules();

  // ---- lowerer.cc: the walk -------------------------------------------------------------------
  void lower_node(size_t index);
  const char* requant_name() const { return kernels::requant_scheme_name(prof_.requant).data(); }
  // The profile's formulas for Add, Mul and global average pooling, when not the requant
  // scheme's: attribute `arithmetic` (engine/ops/q_common.h's op_arithmetic reads it).
  void set_arithmetic(Node& n) const {
    if (prof_.arithmetic == kernels::OpArithmetic::kMlas) n.attrs.set("arithmetic", std::string("mlas"));
  }
  // A new code tensor for `id` under `e`; later code_of(id) returns it.
  TensorId code_output(TensorId id, const ActEnc& e);
  void emit(Node n);
  void fallback(const Node& node, const std::string& why);
  TensorId code_of_from(TensorId id, TensorId raw);
  // QuantizeLinear(raw) -> a new code tensor `name` with `id`'s encoding.
  TensorId quantize_node(TensorId id, TensorId raw, const std::string& name);
  void add_fake_quant(const TensorInfo& t, TensorId raw, TensorId out);
  // Graph outputs: float, under their own names.
  void finish_outputs();

  TensorId add_tensor(const std::string& name, DType dtype, const Shape& shape,
                      QuantParams quant = {}) {
    TensorInfo t;
    t.name = name;
    t.dtype = dtype;
    t.shape = shape;
    t.quant = std::move(quant);
    return out_.add_tensor(std::move(t));
  }
  TensorId add_constant(const std::string& base, DType dtype, const Dims& dims,
                        const void* bytes, size_t size, QuantParams quant = {}) {
    const TensorId id = add_tensor(names_.tensor(base), dtype, Shape::of(dims), std::move(quant));
    out_.tensor(id).data = Buffer::copy_of(reinterpret_cast<const std::byte*>(bytes), size);
    return id;
  }
  template <typename T>
  TensorId add_scalar(const std::string& base, DType dtype, T value) {
    return add_constant(base, dtype, {}, &value, sizeof(T));
  }

  // ---- encodings.cc ---------------------------------------------------------------------------
  // The 8-bit encoding of a float tensor in the profile's code type, or nullopt.
  std::optional<ActEnc> act_enc(TensorId id) const;
  // A moved tensor's own encoding, where the model gave it one.
  std::optional<ActEnc> act_enc_raw(TensorId id) const;
  std::optional<ActEnc> to_enc(const QuantParams& q) const;
  // A per-tensor 16-bit activation encoding in the profile's 16-bit code type, or nullopt with
  // the reason (profile without one, int16 needing a symmetric encoding, ...).
  std::optional<ActEnc> to_enc16(const QuantParams& q, std::string* why = nullptr) const;
  // The 16-bit encoding of a float tensor, or nullopt.
  std::optional<ActEnc> act_enc16(TensorId id, std::string* why = nullptr) const;
  // True when the model gives `id` a 16-bit encoding of its own (a tensor set to 16 bits after
  // 8-bit ones): the 8-bit rules, whose outputs take their input's codes, must not produce it.
  bool wider_than_8_bits(TensorId id) const;
  // 8-bit (act_enc) or 16-bit encoding: what QuantizeLinear / DequantizeLinear can carry.
  std::optional<ActEnc> any_enc(TensorId id) const;
  // Why a Conv / Gemm / MatMul tensor has no integer encoding.
  std::string why_no_enc(TensorId id) const;
  QuantParams code_params(const ActEnc& e) const;
  int32_t quantize_value(float v, const ActEnc& e) const;
  float dequantize_value(int32_t code, const ActEnc& e) const;
  // The code version of a quantized tensor (QuantizeLinear of its float value if needed).
  TensorId code_of(TensorId id);
  TensorId zero_point_constant(const std::string& base, int32_t zp,
                               DType type = DType::kUndefined);
  // The float (or non-float plain) version of a tensor: quantized activations dequantized,
  // quantized constants fake-quantized.
  TensorId plain_of(TensorId id);
  // qdq of a constant under its QuantParams (per tensor, axis or block; AIMET's grid).
  BufferPtr fake_quantized(const TensorInfo& t);
  // An 8-bit asymmetric min/max encoding (AIMET's grid, 0 exactly representable) for an
  // unquantized float constant; later act_enc() calls see it.
  std::optional<ActEnc> encode_constant(TensorId id);
  // When the model gave a moved tensor an encoding of its own, requantize to it.
  void retarget_encoding(TensorId id, const ActEnc& from);

  // ---- constants.cc ---------------------------------------------------------------------------
  struct Weights {
    std::vector<int8_t> codes;  // [N][K]
    std::vector<float> scales;  // per output channel (or one)
    int bits = 8;
  };
  // Symmetric integer weights of a constant with QuantParams, as an [N][K] matrix whose rows
  // are the output channels. `channel_axis` is the axis of the output channel in the stored
  // tensor (0 for Conv and transposed Gemm, 1 for MatMul / Gemm B [K, N]). nullopt (with the
  // reason) when the encoding cannot run on the integer kernels.
  std::optional<Weights> weights(TensorId id, int channel_axis, std::string* why);
  // The signed codes [lo, hi] that weight scale `index` of `q` may take on a `bits`-bit
  // symmetric grid, within the profile's weight range; nullopt when the zero point is not
  // the grid's symmetric one.
  std::optional<std::pair<int32_t, int32_t>> weight_code_range(const QuantParams& q, size_t index,
                                                               int bits) const;
  TensorId weight_constant(const std::string& base, const Weights& w, const Dims& dims);
  // Bias codes: round_half_even(b / (x_scale * w_scale[c])), saturated to int32.
  std::optional<TensorId> bias_constant(TensorId id, int64_t N, float x_scale,
                                        const std::vector<float>& w_scales, std::string* why);
  // Bias codes for the int64 accumulators: round_half_even(b / (x_scale * w_scale[c])) in
  // double, saturated to +-2^62.
  std::optional<TensorId> bias_constant64(TensorId id, int64_t N, float x_scale,
                                          const std::vector<float>& w_scales, std::string* why);

  // ---- linear_rules.cc ------------------------------------------------------------------------
  bool lower_conv(const Node& node, std::string* why);
  bool lower_linear(const Node& node, std::string* why);
  // W8A16: Conv / Gemm / MatMul whose input or output has a 16-bit encoding (the other one 8-
  // or 16-bit), weights of at most 8 bits; the bias becomes i64 (TFLite 16x8's int64 bias),
  // `_out_type` names the output code type when it differs from the input's.
  bool lower_wide(const Node& node, std::string* why);
  // Conv with per-block int4 weights (kernels/qconv_blockwise.h): blocks of 32, 64 or 128 input
  // channels along axis 1 of [M, C/group, KH, KW] (C/group a multiple of the block). The
  // weights become i4 in their ONNX layout with the blocked scales [M, C/group / block, KH, KW]
  // (axis 1), the bias stays real-valued f32.
  bool lower_blockwise_conv(const Node& node, const ActEnc& y, std::string* why);
  // Gemm / MatMul with per-block int4 weights (kernels/qgemm.h QGemmBlockwise): the weights
  // become i4 [N][K] with scales [N][K / block], the bias stays real-valued f32.
  bool lower_blockwise_linear(const Node& node, int channel_axis, const ActEnc& x, const ActEnc& y,
                              std::string* why);

  // ---- elementwise_rules.cc -------------------------------------------------------------------
  // Add / Mul of two quantized tensors; an Add whose only reader is a Relu with the encoding
  // (AIMET's Add+Relu supergroup) takes the Relu in as its output clamp.
  bool lower_binary(const Node& node, std::string* why);
  std::optional<size_t> single_reader(TensorId id) const;
  bool lower_avg_pool(const Node& node, std::string* why);
  bool lower_softmax(const Node& node, std::string* why);
  // One quantized input -> one quantized output, each with its own encoding.
  bool lower_same_encoding_free(const Node& node, const char* qop, std::string* why,
                                bool profile_arithmetic = false);
  bool lower_resize(const Node& node, std::string* why);
  // The op table's scalar function of the node (its reference kernel's), or empty.
  ScalarFn scalar_function(const Node& node) const;
  // A pointwise function as a 256-entry table of codes (octet.QLookup).
  bool lower_lookup(const Node& node, std::string* why);

  // ---- movement_rules.cc ----------------------------------------------------------------------
  // A QuantizeLinear / DequantizeLinear left by a QDQ model whose grid is the tensor's own
  // encoding: the codes already exist, nothing to run.
  bool lower_qdq(const Node& node, std::string* why);
  // The quantized tensor whose codes `coded` (a QuantizeLinear output) holds.
  TensorId coded_source(TensorId coded) const;
  // Runs on codes; outputs inherit input 0's encoding.
  bool lower_movement(const Node& node, std::string* why);
  // W8A16: pure rearrangements run on 16-bit codes (element-size agnostic kernels) when every
  // output keeps the input's encoding; anything else with 16-bit codes runs in float.
  bool lower_movement16(const Node& node, std::string* why);
  bool lower_concat(const Node& node, std::string* why);

  Graph& in_;
  const TargetProfile& prof_;
  Graph out_;
  passes::Namer names_;
  std::map<TensorId, QuantParams> own_;
  std::vector<TensorId> plain_, code_;
  std::vector<int32_t> uses_;
  std::vector<bool> consumed_;
  int32_t qmin_ = 0, qmax_ = 255;
  LoweringReport report_;
  std::set<std::string> widened_;  // weights whose channel scales were widened (noted once)
};

}  // namespace octet::lowering
