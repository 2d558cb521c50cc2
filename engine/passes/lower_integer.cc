#include "engine/passes/lower_integer.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "engine/error.h"
#include "engine/op.h"
#include "engine/passes/pass_util.h"
#include "kernels/fake_quant.h"
#include "simd/round_half_even.h"

namespace octet {
namespace {

// Ops whose output holds a selection or rearrangement of input 0's values (the op table's
// preserves-encoding trait): they run on codes and their outputs share input 0's encoding
// (as QuantSim leaves them without a quantizer).
bool moves_codes(const std::string& op) { return preserves_encoding(op); }

bool registered(const char* op) { return OpRegistry::instance().find(op) != nullptr; }

using simd::round_half_even;


// A per-tensor 8-bit activation encoding in the profile's code type.
struct ActEnc {
  float scale;
  int32_t zero_point;  // in the code type's domain
  bool symmetric;
  DType type = DType::kUndefined;  // code type: the profile's 8-bit type, or its 16-bit one
};

bool is_code16(DType t) { return t == DType::kU16 || t == DType::kI16; }
int32_t code_type_min(DType t) {
  return t == DType::kI8 ? -128 : t == DType::kI16 ? -32768 : 0;
}
int32_t code_type_max(DType t) {
  return t == DType::kI8 ? 127 : t == DType::kU8 ? 255 : t == DType::kI16 ? 32767 : 65535;
}
const char* code_type_attr(DType t) {
  return t == DType::kU8 ? "u8" : t == DType::kI8 ? "i8" : t == DType::kU16 ? "u16" : "i16";
}

class Lowerer {
 public:
  // `in` is the pass's own annotated copy: encodings given to constants are written into it.
  Lowerer(Graph& in, const TargetProfile& profile, std::map<TensorId, QuantParams> own)
      : in_(in), prof_(profile), names_(in), own_(std::move(own)), plain_(in.tensors.size(), kNoTensor),
        code_(in.tensors.size(), kNoTensor), uses_(in.use_counts()) {
    out_.name = in.name;
    out_.opset = in.opset;
    qmin_ = profile.activation_type == DType::kI8 ? -128 : 0;
    qmax_ = qmin_ + 255;
  }

  LoweringReport run() {
    for (TensorId id : in_.inputs) {
      const TensorInfo& t = in_.tensor(id);
      plain_[size_t(id)] = add_tensor(t.name, t.dtype, t.shape);
      out_.inputs.push_back(plain_[size_t(id)]);
    }
    const std::vector<int32_t> producers = in_.producers();
    consumed_.assign(in_.nodes.size(), false);
    for (size_t i = 0; i < in_.nodes.size(); ++i) {
      if (consumed_[i]) continue;
      lower_node(i);
    }
    finish_outputs();
    return report_;
  }

  Graph take() { return std::move(out_); }

 private:
  // ---- tensors ------------------------------------------------------------------------------
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

  std::optional<ActEnc> act_enc(TensorId id) const {
    const TensorInfo& t = in_.tensor(id);
    if (t.dtype != DType::kF32) return {};
    return to_enc(t.quant);
  }
  // A moved tensor's own encoding, where the model gave it one.
  std::optional<ActEnc> act_enc_raw(TensorId id) const {
    auto it = own_.find(id);
    return it == own_.end() ? std::nullopt : to_enc(it->second);
  }
  std::optional<ActEnc> to_enc(const QuantParams& q) const {
    if (q.scale.size() != 1 || q.zero_point.size() != 1) return {};
    if (q.bitwidth != 8 || q.block_size != 0) return {};
    if (!(std::isfinite(q.scale[0]) && q.scale[0] > 0.f)) return {};
    if (q.zero_point[0] < 0 || q.zero_point[0] > 255) return {};
    const int32_t shift = prof_.activation_type == DType::kI8 ? 128 : 0;
    return ActEnc{q.scale[0], q.zero_point[0] - shift, q.symmetric, prof_.activation_type};
  }

  // ---- 16-bit activations (W8A16) ---------------------------------------------------------------
  // A per-tensor 16-bit activation encoding in the profile's 16-bit code type, or nullopt with
  // the reason (profile without one, int16 needing a symmetric encoding, ...).
  std::optional<ActEnc> to_enc16(const QuantParams& q, std::string* why = nullptr) const {
    std::string dummy;
    std::string& w = why ? *why : dummy;
    if (q.bitwidth != 16 || q.block_size != 0 || q.scale.size() != 1 || q.zero_point.size() != 1)
      return w = "not a per-tensor 16-bit encoding", std::nullopt;
    if (prof_.activation_type_16 == DType::kUndefined)
      return w = "target profile '" + prof_.name + "' has no 16-bit activation type", std::nullopt;
    if (!(std::isfinite(q.scale[0]) && q.scale[0] > 0.f) || q.zero_point[0] < 0 ||
        q.zero_point[0] > 65535)
      return w = "invalid 16-bit encoding", std::nullopt;
    if (prof_.activation_type_16 == DType::kU16)
      return ActEnc{q.scale[0], q.zero_point[0], q.symmetric, DType::kU16};
    if (q.zero_point[0] != 32768)
      return w = "16-bit encoding is not symmetric (the profile's int16 activations need zero "
                 "point 0, as TFLite 16x8)", std::nullopt;
    return ActEnc{q.scale[0], 0, true, DType::kI16};
  }
  // The 16-bit encoding of a float tensor, or nullopt.
  std::optional<ActEnc> act_enc16(TensorId id, std::string* why = nullptr) const {
    const TensorInfo& t = in_.tensor(id);
    if (t.dtype != DType::kF32) return std::nullopt;
    return to_enc16(t.quant, why);
  }
  // 8-bit (act_enc) or 16-bit encoding: what QuantizeLinear / DequantizeLinear can carry.
  std::optional<ActEnc> any_enc(TensorId id) const {
    if (auto e = act_enc(id)) return e;
    return act_enc16(id);
  }
  // Why a Conv / Gemm / MatMul tensor has no integer encoding.
  std::string why_no_enc(TensorId id) const {
    const TensorInfo& t = in_.tensor(id);
    if (t.quant.bitwidth == 16 && t.quant.scale.size() == 1) {
      std::string why;
      act_enc16(id, &why);
      return "'" + t.name + "': " + why;
    }
    return "input or output is not an 8- or 16-bit per-tensor activation";
  }
  QuantParams code_params(const ActEnc& e) const {
    QuantParams q;
    q.scale = {e.scale};
    q.zero_point = {e.zero_point};
    q.bitwidth = is_code16(e.type) ? 16 : 8;
    q.symmetric = e.symmetric;
    return q;
  }
  int32_t quantize_value(float v, const ActEnc& e) const {
    float r = prof_.quantize_half_away ? std::round(v / e.scale) : round_half_even(v / e.scale);
    double c = double(r) + e.zero_point;
    if (std::isnan(v)) c = e.zero_point;
    if (e.type != DType::kUndefined)
      return int32_t(std::clamp<double>(c, code_type_min(e.type), code_type_max(e.type)));
    return int32_t(std::clamp<double>(c, qmin_, qmax_));
  }
  float dequantize_value(int32_t code, const ActEnc& e) const {
    return float(code - e.zero_point) * e.scale;
  }

  // The code version of a quantized tensor (QuantizeLinear of its float value if needed).
  TensorId code_of(TensorId id) {
    if (code_[size_t(id)] != kNoTensor) return code_[size_t(id)];
    const ActEnc e = *any_enc(id);
    const TensorInfo& t = in_.tensor(id);
    TensorId c;
    if (t.is_constant()) {
      const Dims dims = t.shape.concrete();
      const int64_t n = checked_numel(dims);
      const size_t es = dtype_size(e.type);
      std::vector<uint8_t> codes(static_cast<size_t>(n) * es);
      const auto* v = reinterpret_cast<const float*>(t.data->data());
      for (int64_t i = 0; i < n; ++i) {
        const int32_t q = quantize_value(v[i], e);
        std::memcpy(codes.data() + size_t(i) * es, &q, es);  // little endian: the low bytes
      }
      c = add_constant(t.name + "_q", e.type, dims, codes.data(), codes.size(), code_params(e));
    } else {
      c = quantize_node(id, plain_of(id), names_.tensor(t.name + "_q"));
    }
    code_[size_t(id)] = c;
    return c;
  }

  TensorId zero_point_constant(const std::string& base, int32_t zp,
                               DType type = DType::kUndefined) {
    if (type == DType::kU16) return add_scalar(base, DType::kU16, uint16_t(zp));
    if (type == DType::kI16) return add_scalar(base, DType::kI16, int16_t(zp));
    if (prof_.activation_type == DType::kI8) return add_scalar(base, DType::kI8, int8_t(zp));
    return add_scalar(base, DType::kU8, uint8_t(zp));
  }

  // The float (or non-float plain) version of a tensor: quantized activations dequantized,
  // quantized constants fake-quantized.
  TensorId plain_of(TensorId id) {
    if (plain_[size_t(id)] != kNoTensor) return plain_[size_t(id)];
    const TensorInfo& t = in_.tensor(id);
    TensorId p;
    if (t.is_constant()) {
      p = add_tensor(t.name, t.dtype, t.shape);
      out_.tensor(p).data = t.quant.empty() || t.dtype != DType::kF32 ? t.data
                                                                       : fake_quantized(t);
    } else {
      OCTET_CHECK(code_[size_t(id)] != kNoTensor, "lowering: tensor '", t.name,
                  "' is read before it is produced");
      const ActEnc e = *any_enc(id);
      p = add_tensor(names_.tensor(t.name + "_dq"), DType::kF32, t.shape);
      Node n;
      n.name = names_.node(t.name + "/dequantize");
      n.op_type = "DequantizeLinear";
      n.inputs = {code_[size_t(id)], add_scalar(t.name + "_scale", DType::kF32, e.scale),
                  zero_point_constant(t.name + "_zero_point", e.zero_point, e.type)};
      n.outputs = {p};
      out_.nodes.push_back(std::move(n));
    }
    plain_[size_t(id)] = p;
    return p;
  }

  // qdq of a constant under its QuantParams (per tensor, axis or block; AIMET's grid).
  BufferPtr fake_quantized(const TensorInfo& t) {
    const Dims dims = t.shape.concrete();
    const int64_t n = checked_numel(dims);
    const QuantParams& q = t.quant;
    kernels::FakeQuantParams p;
    p.scale = q.scale;
    const int64_t half = int64_t{1} << (q.bitwidth - 1);
    const bool strict = q.symmetric && q.zero_point[0] == half - 1;
    for (int32_t z : q.zero_point) p.offset.push_back(-z);
    p.qmin = 0;
    p.qmax = int32_t(2 * half - 1 - (strict ? 1 : 0));
    if (q.scale.size() > 1) {
      OCTET_CHECK(q.axis >= 0 && size_t(q.axis) < dims.size(), "lowering: '", t.name,
                  "' has ", q.scale.size(), " scales and axis ", q.axis);
      p.channels = dims[size_t(q.axis)];
      for (size_t d = 0; d < size_t(q.axis); ++d) p.outer *= dims[d];
      for (size_t d = size_t(q.axis) + 1; d < dims.size(); ++d) p.inner *= dims[d];
      p.block = q.block_size;
      const int64_t expected =
          p.block ? p.outer * ((p.channels + p.block - 1) / p.block) * p.inner : p.channels;
      OCTET_CHECK(expected == int64_t(q.scale.size()), "lowering: '", t.name, "' has ",
                  q.scale.size(), " scales, its layout needs ", expected);
    }
    std::vector<float> v(static_cast<size_t>(n));
    kernels::fake_quant_f32_reference(p, reinterpret_cast<const float*>(t.data->data()), v.data(), n);
    return Buffer::copy_of(reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(float));
  }

  // ---- weights --------------------------------------------------------------------------------
  struct Weights {
    std::vector<int8_t> codes;  // [N][K]
    std::vector<float> scales;  // per output channel (or one)
    int bits = 8;
  };

  // Symmetric integer weights of a constant with QuantParams, as an [N][K] matrix whose rows
  // are the output channels. `channel_axis` is the axis of the output channel in the stored
  // tensor (0 for Conv and transposed Gemm, 1 for MatMul / Gemm B [K, N]). nullopt (with the
  // reason) when the encoding cannot run on the integer kernels.
  std::optional<Weights> weights(TensorId id, int channel_axis, std::string* why) {
    const TensorInfo& t = in_.tensor(id);
    const QuantParams& q = t.quant;
    if (!t.is_constant() || t.dtype != DType::kF32) return *why = "weights are not a float constant", std::nullopt;
    if (q.empty()) return *why = "weights are not quantized", std::nullopt;
    // Any width up to 8 runs on the int8 kernels (stored as i4 up to 4 bits, else i8).
    if (q.bitwidth < 2 || q.bitwidth > 8)
      return *why = "weights have " + std::to_string(q.bitwidth) + " bits (integer kernels: 2 to 8)", std::nullopt;
    if (q.block_size != 0) return *why = "per-block weights", std::nullopt;
    if (!q.symmetric) return *why = "weights are asymmetric (integer kernels need symmetric weights)", std::nullopt;
    const Dims dims = t.shape.concrete();
    if (dims.size() < 2) return *why = "weights are not a matrix", std::nullopt;
    const int64_t N = dims[size_t(channel_axis)];
    const int64_t total = checked_numel(dims);
    if (N <= 0) return *why = "empty weights", std::nullopt;
    const int64_t K = total / N;
    if (q.scale.size() != 1 && (q.axis != channel_axis || int64_t(q.scale.size()) != N))
      return *why = "weights are quantized along axis " + std::to_string(q.axis) +
                    ", not the output channels", std::nullopt;
    const int64_t half = int64_t{1} << (q.bitwidth - 1);
    const auto* v = reinterpret_cast<const float*>(t.data->data());
    Weights w;
    w.bits = q.bitwidth;
    w.codes.resize(size_t(total));
    w.scales.resize(size_t(N));
    const int32_t wmin = prof_.weight_min(q.bitwidth), wmax = prof_.weight_max(q.bitwidth);
    for (int64_t n = 0; n < N; ++n) {
      const size_t qi = q.scale.size() == 1 ? 0 : size_t(n);
      const int32_t zp = q.zero_point[qi];
      if (zp != half && zp != half - 1)
        return *why = "weights' zero point is not symmetric", std::nullopt;
      const bool strict = zp == half - 1;
      const int32_t top = int32_t(2 * half - 1 - (strict ? 1 : 0));
      const int32_t lo = std::max(-zp, wmin), hi = std::min(top - zp, wmax);
      const float s = q.scale[qi];
      w.scales[size_t(n)] = s;
      for (int64_t k = 0; k < K; ++k) {
        // Element (n, k) of the [N][K] view: for channel_axis 0 the stored order already is
        // [N][K]; for axis 1 of a [K, N] matrix it is v[k * N + n].
        const float x = channel_axis == 0 ? v[n * K + k] : v[k * N + n];
        float c = round_half_even(x / s);
        c = std::clamp(c, float(lo), float(hi));
        w.codes[size_t(n * K + k)] = int8_t(c);
      }
    }
    return w;
  }

  TensorId weight_constant(const std::string& base, const Weights& w, const Dims& dims) {
    QuantParams q;
    q.scale = w.scales;
    q.zero_point.assign(w.scales.size(), 0);
    q.axis = 0;
    q.bitwidth = w.bits;
    q.symmetric = true;
    if (w.bits <= 4) {
      std::vector<uint8_t> packed((w.codes.size() + 1) / 2, 0);
      for (size_t i = 0; i < w.codes.size(); ++i)
        packed[i / 2] |= uint8_t((uint8_t(w.codes[i]) & 0xF) << ((i % 2) * 4));
      return add_constant(base, DType::kI4, dims, packed.data(), packed.size(), std::move(q));
    }
    return add_constant(base, DType::kI8, dims, w.codes.data(), w.codes.size(), std::move(q));
  }

  // Bias codes: round_half_even(b / (x_scale * w_scale[c])), saturated to int32.
  std::optional<TensorId> bias_constant(TensorId id, int64_t N, float x_scale,
                                        const std::vector<float>& w_scales, std::string* why) {
    const TensorInfo& t = in_.tensor(id);
    if (!t.is_constant() || t.dtype != DType::kF32) return *why = "bias is not a float constant", std::nullopt;
    const int64_t n = checked_numel(t.shape.concrete());
    if (n != N && n != 1) return *why = "bias does not have one value per output", std::nullopt;
    const auto* v = reinterpret_cast<const float*>(t.data->data());
    std::vector<int32_t> codes(static_cast<size_t>(N));
    QuantParams q;
    for (int64_t c = 0; c < N; ++c) {
      const float s = x_scale * w_scales[size_t(c)];
      const double r = double(round_half_even(v[n == 1 ? 0 : c] / s));
      codes[size_t(c)] = int32_t(std::clamp(r, -2147483648.0, 2147483647.0));
      q.scale.push_back(s);
      q.zero_point.push_back(0);
    }
    q.axis = 0;
    q.bitwidth = 32;
    q.symmetric = true;
    return add_constant(t.name + "_q", DType::kI32, {N}, codes.data(), codes.size() * 4,
                        std::move(q));
  }

  // ---- nodes ----------------------------------------------------------------------------------
  const char* requant_name() const { return kernels::requant_scheme_name(prof_.requant).data(); }

  TensorId code_output(TensorId id, const ActEnc& e) {
    const TensorInfo& t = in_.tensor(id);
    const TensorId c = add_tensor(t.name, e.type, t.shape, code_params(e));
    code_[size_t(id)] = c;
    return c;
  }

  void emit(Node n) {
    ++report_.integer_nodes;
    out_.nodes.push_back(std::move(n));
  }

  void lower_node(size_t index) {
    const Node& node = in_.nodes[index];
    std::string why;
    bool done = false;
    const std::string& op = node.op_type;
    if (op == "QuantizeLinear" || op == "DequantizeLinear") done = lower_qdq(node, &why);
    else if (op == "Conv") done = lower_conv(node, &why);
    else if (op == "Gemm" || op == "MatMul") done = lower_linear(node, &why);
    else if (op == "Add" || op == "Mul") done = lower_binary(index, &why);
    else if (op == "AveragePool" || op == "GlobalAveragePool") done = lower_avg_pool(node, &why);
    else if (op == "Concat") done = lower_concat(node, &why);
    else if (op == "Softmax") done = lower_same_encoding_free(node, "octet.QSoftmax", &why);
    else if (op == "Resize") done = lower_resize(node, &why);
    else if (moves_codes(op)) done = lower_movement(node, &why);
    else if (scalar_function(node)) done = lower_lookup(node, &why);
    else why = "no integer form of " + op;
    if (!done) {
      bool wide = false;
      for (TensorId t : node.inputs) wide = wide || (t != kNoTensor && act_enc16(t));
      for (TensorId t : node.outputs) wide = wide || act_enc16(t);
      if (wide && why.find("16-bit") == std::string::npos) why = "16-bit activations: " + why;
      fallback(node, why);
    }
  }

  // A QuantizeLinear / DequantizeLinear left by a QDQ model whose grid is the tensor's own
  // encoding: the codes already exist, nothing to run.
  bool lower_qdq(const Node& node, std::string* why) {
    const bool quantize = node.op_type == "QuantizeLinear";
    const TensorId coded = quantize ? node.outputs[0] : node.inputs[0];
    const TensorId real = quantize ? node.inputs[0] : node.outputs[0];
    auto e = act_enc(real);
    if (!quantize) e = code_[size_t(coded)] != kNoTensor ? act_enc(coded_source(coded)) : std::nullopt;
    if (!e || !node.has_input(1) || !node.has_input(2)) return *why = "not an encoding's own grid", false;
    auto scale = passes::constant_f32(in_, node.inputs[1]);
    const TensorInfo& zt = in_.tensor(node.inputs[2]);
    if (!scale || scale->size() != 1 || (*scale)[0] != e->scale || !zt.is_constant() ||
        (zt.dtype != DType::kU8 && zt.dtype != DType::kI8))
      return *why = "not an encoding's own grid", false;
    int32_t zp = zt.dtype == DType::kI8 ? int32_t(*reinterpret_cast<const int8_t*>(zt.data->data())) + 128
                                        : int32_t(*reinterpret_cast<const uint8_t*>(zt.data->data()));
    if (prof_.activation_type == DType::kI8) zp -= 128;
    if (zp != e->zero_point) return *why = "not an encoding's own grid", false;
    if (quantize) code_[size_t(coded)] = code_of(real);
    else plain_[size_t(real)] = plain_of(coded_source(coded));
    return true;
  }
  // The quantized tensor whose codes `coded` (a QuantizeLinear output) holds.
  TensorId coded_source(TensorId coded) const {
    for (const Node& n : in_.nodes)
      if (n.op_type == "QuantizeLinear" && !n.outputs.empty() && n.outputs[0] == coded) return n.inputs[0];
    return coded;
  }

  bool lower_conv(const Node& node, std::string* why) {
    if (node.attrs.get_string("_layout", "NCHW") != "NHWC")
      return *why = "not channels-last", false;
    auto x = act_enc(node.inputs[0]);
    auto y = act_enc(node.outputs[0]);
    if (!x || !y) return lower_wide(node, why);
    if (in_.tensor(node.inputs[1]).quant.block_size > 0) return lower_blockwise_conv(node, *y, why);
    auto w = weights(node.inputs[1], 0, why);
    if (!w) return false;
    std::optional<TensorId> b;
    if (node.has_input(2)) {
      b = bias_constant(node.inputs[2], int64_t(w->scales.size()), x->scale, w->scales, why);
      if (!b) return false;
    }
    Node n;
    n.name = node.name;
    n.op_type = "octet.QConv";
    n.attrs = node.attrs;
    n.attrs.set("requant", std::string(requant_name()));
    n.inputs = {code_of(node.inputs[0]),
                weight_constant(in_.tensor(node.inputs[1]).name + "_q", *w,
                                in_.tensor(node.inputs[1]).shape.concrete())};
    if (b) n.inputs.push_back(*b);
    n.outputs = {code_output(node.outputs[0], *y)};
    emit(std::move(n));
    return true;
  }

  bool lower_linear(const Node& node, std::string* why) {
    const bool gemm = node.op_type == "Gemm";
    auto x = act_enc(node.inputs[0]);
    auto y = act_enc(node.outputs[0]);
    if (!x || !y) return lower_wide(node, why);
    const Dims a = in_.tensor(node.inputs[0]).shape.concrete();
    int axis = 1;  // output channels of B [K, N]
    if (gemm) {
      if (node.attrs.get_float("alpha", 1.f) != 1.f || node.attrs.get_float("beta", 1.f) != 1.f ||
          node.attrs.get_int("transA", 0) != 0 || a.size() != 2)
        return *why = "Gemm with alpha/beta != 1 or transA", false;
      if (node.attrs.get_int("transB", 0) != 0) axis = 0;
    }
    const TensorInfo& bt = in_.tensor(node.inputs[1]);
    if (!bt.is_constant() || bt.shape.rank() != 2) return *why = "weights are not a 2-D constant", false;
    if (bt.quant.block_size > 0) return lower_blockwise_linear(node, axis, *x, *y, why);
    auto w = weights(node.inputs[1], axis, why);
    if (!w) return false;
    const int64_t N = int64_t(w->scales.size()), K = int64_t(w->codes.size()) / N;
    std::optional<TensorId> b;
    if (gemm && node.has_input(2)) {
      b = bias_constant(node.inputs[2], N, x->scale, w->scales, why);
      if (!b) return false;
    }
    Node n;
    n.name = node.name;
    n.op_type = gemm ? "octet.QGemm" : "octet.QMatMul";
    n.attrs.set("requant", std::string(requant_name()));
    for (const char* k : {"_act_min", "_act_max"})
      if (node.attrs.has(k)) n.attrs.set(k, node.attrs.get_float(k, 0.f));
    n.inputs = {code_of(node.inputs[0]), weight_constant(bt.name + "_q", *w, {N, K})};
    if (b) n.inputs.push_back(*b);
    n.outputs = {code_output(node.outputs[0], *y)};
    emit(std::move(n));
    return true;
  }

  // W8A16: Conv / Gemm / MatMul whose input or output has a 16-bit encoding (the other one 8-
  // or 16-bit), weights of at most 8 bits; the bias becomes i64 (TFLite 16x8's int64 bias),
  // `_out_type` names the output code type when it differs from the input's.
  bool lower_wide(const Node& node, std::string* why) {
    auto x = any_enc(node.inputs[0]);
    auto y = any_enc(node.outputs[0]);
    if (!x) return *why = why_no_enc(node.inputs[0]), false;
    if (!y) return *why = why_no_enc(node.outputs[0]), false;
    const bool conv = node.op_type == "Conv", gemm = node.op_type == "Gemm";
    if (conv && node.attrs.get_string("_layout", "NCHW") != "NHWC")
      return *why = "not channels-last", false;
    int axis = conv ? 0 : 1;
    if (gemm) {
      const Dims a = in_.tensor(node.inputs[0]).shape.concrete();
      if (node.attrs.get_float("alpha", 1.f) != 1.f || node.attrs.get_float("beta", 1.f) != 1.f ||
          node.attrs.get_int("transA", 0) != 0 || a.size() != 2)
        return *why = "Gemm with alpha/beta != 1 or transA", false;
      if (node.attrs.get_int("transB", 0) != 0) axis = 0;
    }
    const TensorInfo& bt = in_.tensor(node.inputs[1]);
    if (!conv && (!bt.is_constant() || bt.shape.rank() != 2))
      return *why = "weights are not a 2-D constant", false;
    if (bt.quant.block_size > 0) return *why = "per-block weights with 16-bit activations", false;
    auto w = weights(node.inputs[1], axis, why);
    if (!w) return false;
    const int64_t N = int64_t(w->scales.size()), K = int64_t(w->codes.size()) / N;
    std::optional<TensorId> b;
    if ((conv || gemm) && node.has_input(2)) {
      b = bias_constant64(node.inputs[2], N, x->scale, w->scales, why);
      if (!b) return false;
    }
    Node n;
    n.name = node.name;
    n.op_type = conv ? "octet.QConv" : gemm ? "octet.QGemm" : "octet.QMatMul";
    if (conv) {
      n.attrs = node.attrs;
    } else {
      for (const char* k : {"_act_min", "_act_max"})
        if (node.attrs.has(k)) n.attrs.set(k, node.attrs.get_float(k, 0.f));
    }
    n.attrs.set("requant", std::string(requant_name()));
    if (y->type != x->type) n.attrs.set("_out_type", std::string(code_type_attr(y->type)));
    n.inputs = {code_of(node.inputs[0]),
                conv ? weight_constant(bt.name + "_q", *w, bt.shape.concrete())
                     : weight_constant(bt.name + "_q", *w, {N, K})};
    if (b) n.inputs.push_back(*b);
    n.outputs = {code_output(node.outputs[0], *y)};
    emit(std::move(n));
    return true;
  }

  // Conv with per-block int4 weights (kernels/qconv_blockwise.h): blocks of 32, 64 or 128 input
  // channels along axis 1 of [M, C/group, KH, KW] (C/group a multiple of the block). The
  // weights become i4 in their ONNX layout with the blocked scales [M, C/group / block, KH, KW]
  // (axis 1), the bias stays real-valued f32.
  bool lower_blockwise_conv(const Node& node, const ActEnc& y, std::string* why) {
    const TensorInfo& t = in_.tensor(node.inputs[1]);
    const QuantParams& q = t.quant;
    if (!t.is_constant() || t.dtype != DType::kF32)
      return *why = "weights are not a float constant", false;
    const Dims dims = t.shape.concrete();
    if (dims.size() < 3) return *why = "per-block weights of a Conv need [M, C/group, k...]", false;
    const int64_t group = node.attrs.get_int("group", 1);
    const int64_t M = dims[0], Cg = dims[1], B = q.block_size;
    if (group > 1 && Cg == 1)
      return *why = "per-block weights on a depthwise Conv (C/group = 1 cannot hold blocks)", false;
    if (q.bitwidth > 4 || !q.symmetric)
      return *why = "per-block weights run on the int4 kernels: 4-bit symmetric only", false;
    if (B != 32 && B != 64 && B != 128)
      return *why = "per-block weights need blocks of 32, 64 or 128 input channels", false;
    if (Cg % B != 0)
      return *why = "per-block weights: C/group = " + std::to_string(Cg) +
                    " is not a multiple of the block " + std::to_string(B), false;
    int64_t T = 1;
    for (size_t d = 2; d < dims.size(); ++d) T *= dims[d];
    const int64_t Cb = Cg / B;
    if (q.axis != 1 || int64_t(q.scale.size()) != M * Cb * T ||
        q.zero_point.size() != q.scale.size())
      return *why = "per-block weights are not blocked along the input channels (axis 1)", false;
    const int64_t half = 8;
    const auto* v = reinterpret_cast<const float*>(t.data->data());
    Weights w;
    w.bits = q.bitwidth;
    w.codes.resize(size_t(M * Cg * T));
    const int32_t wmin = prof_.weight_min(4), wmax = prof_.weight_max(4);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t cb = 0; cb < Cb; ++cb)
        for (int64_t i = 0; i < T; ++i) {
          // Blocked layout of axis 1: scale (m, cb, i) covers w[m, cb * B .. cb * B + B - 1, i].
          const size_t qi = size_t((m * Cb + cb) * T + i);
          const int32_t zp = q.zero_point[qi];
          if (zp != half && zp != half - 1) return *why = "weights' zero point is not symmetric", false;
          const int32_t top = int32_t(2 * half - 1 - (zp == half - 1 ? 1 : 0));
          const int32_t lo = std::max(-zp, wmin), hi = std::min(top - zp, wmax);
          const float s = q.scale[qi];
          if (!(std::isfinite(s) && s > 0.f)) return *why = "per-block weight scale is not positive", false;
          for (int64_t c = cb * B; c < (cb + 1) * B; ++c) {
            const size_t e = size_t((m * Cg + c) * T + i);
            w.codes[e] = int8_t(std::clamp(round_half_even(v[e] / s), float(lo), float(hi)));
          }
        }
    w.scales = q.scale;
    Node n;
    n.name = node.name;
    n.op_type = "octet.QConv";
    n.attrs = node.attrs;
    n.attrs.set("requant", std::string(requant_name()));
    if (node.has_input(2)) {
      const TensorInfo& bt = in_.tensor(node.inputs[2]);
      if (!bt.is_constant() || bt.dtype != DType::kF32 || checked_numel(bt.shape.concrete()) != M)
        return *why = "bias is not a float constant of one value per output", false;
    }
    const TensorId wc = weight_constant(t.name + "_q", w, dims);
    QuantParams& wq = out_.tensor(wc).quant;
    wq.axis = 1;
    wq.block_size = int32_t(B);
    n.inputs = {code_of(node.inputs[0]), wc};
    if (node.has_input(2)) n.inputs.push_back(plain_of(node.inputs[2]));
    n.outputs = {code_output(node.outputs[0], y)};
    emit(std::move(n));
    return true;
  }

  // Bias codes for the int64 accumulators: round_half_even(b / (x_scale * w_scale[c])) in
  // double, saturated to +-2^62.
  std::optional<TensorId> bias_constant64(TensorId id, int64_t N, float x_scale,
                                          const std::vector<float>& w_scales, std::string* why) {
    const TensorInfo& t = in_.tensor(id);
    if (!t.is_constant() || t.dtype != DType::kF32) return *why = "bias is not a float constant", std::nullopt;
    const int64_t n = checked_numel(t.shape.concrete());
    if (n != N && n != 1) return *why = "bias does not have one value per output", std::nullopt;
    const auto* v = reinterpret_cast<const float*>(t.data->data());
    std::vector<int64_t> codes(static_cast<size_t>(N));
    QuantParams q;
    for (int64_t c = 0; c < N; ++c) {
      const float s = x_scale * w_scales[size_t(c)];
      double r = std::nearbyint(double(v[n == 1 ? 0 : c]) / double(s));  // half to even
      if (std::isnan(r)) r = 0;
      codes[size_t(c)] = int64_t(std::clamp(r, -4611686018427387904.0, 4611686018427387904.0));
      q.scale.push_back(s);
      q.zero_point.push_back(0);
    }
    q.axis = 0;
    q.bitwidth = 32;  // the .octet format bounds bitwidths at 32; the values are i64
    q.symmetric = true;
    return add_constant(t.name + "_q", DType::kI64, {N}, codes.data(), codes.size() * 8,
                        std::move(q));
  }

  // Gemm / MatMul with per-block int4 weights (kernels/qgemm.h QGemmBlockwise): the weights
  // become i4 [N][K] with scales [N][K / block], the bias stays real-valued f32.
  bool lower_blockwise_linear(const Node& node, int channel_axis, const ActEnc& x, const ActEnc& y,
                              std::string* why) {
    const TensorInfo& t = in_.tensor(node.inputs[1]);
    const QuantParams& q = t.quant;
    const Dims dims = t.shape.concrete();
    const int reduction_axis = 1 - channel_axis;
    const int64_t N = dims[size_t(channel_axis)], K = dims[size_t(reduction_axis)], B = q.block_size;
    if (q.bitwidth > 4 || !q.symmetric)
      return *why = "per-block weights run on the int4 kernels: 4-bit symmetric only", false;
    if ((B != 32 && B != 64 && B != 128) || K % B != 0 || q.axis != reduction_axis ||
        int64_t(q.scale.size()) != N * (K / B))
      return *why = "per-block weights need blocks of 32, 64 or 128 along K", false;
    const int64_t blocks = K / B, half = 8;
    const auto* v = reinterpret_cast<const float*>(t.data->data());
    Weights w;
    w.bits = q.bitwidth;
    w.codes.resize(size_t(N * K));
    std::vector<float> scales(size_t(N * blocks));
    const int32_t wmin = prof_.weight_min(4), wmax = prof_.weight_max(4);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t b = 0; b < blocks; ++b) {
        // Blocked layout of the stored tensor: [N, K] along axis 1 -> n * blocks + b;
        // [K, N] along axis 0 -> b * N + n.
        const size_t qi = size_t(reduction_axis == 1 ? n * blocks + b : b * N + n);
        const int32_t zp = q.zero_point[qi];
        if (zp != half && zp != half - 1) return *why = "weights' zero point is not symmetric", false;
        const int32_t top = int32_t(2 * half - 1 - (zp == half - 1 ? 1 : 0));
        const int32_t lo = std::max(-zp, wmin), hi = std::min(top - zp, wmax);
        const float s = q.scale[qi];
        scales[size_t(n * blocks + b)] = s;
        for (int64_t k = b * B; k < (b + 1) * B; ++k) {
          const float wv = reduction_axis == 1 ? v[n * K + k] : v[k * N + n];
          w.codes[size_t(n * K + k)] = int8_t(std::clamp(round_half_even(wv / s), float(lo), float(hi)));
        }
      }
    w.scales = scales;
    const TensorId wc = weight_constant(t.name + "_q", w, {N, K});
    QuantParams& wq = out_.tensor(wc).quant;
    wq.axis = 1;
    wq.block_size = int32_t(B);
    Node n;
    n.name = node.name;
    n.op_type = node.op_type == "Gemm" ? "octet.QGemm" : "octet.QMatMul";
    n.attrs.set("requant", std::string(requant_name()));
    for (const char* k : {"_act_min", "_act_max"})
      if (node.attrs.has(k)) n.attrs.set(k, node.attrs.get_float(k, 0.f));
    n.inputs = {code_of(node.inputs[0]), wc};
    if (node.op_type == "Gemm" && node.has_input(2)) {
      const TensorInfo& bt = in_.tensor(node.inputs[2]);
      if (!bt.is_constant() || bt.dtype != DType::kF32 || checked_numel(bt.shape.concrete()) != N)
        return *why = "bias is not a float constant of one value per output", false;
      n.inputs.push_back(plain_of(node.inputs[2]));
    }
    n.outputs = {code_output(node.outputs[0], y)};
    emit(std::move(n));
    return true;
  }

  // Add / Mul of two quantized tensors; an Add whose only reader is a Relu with the encoding
  // (AIMET's Add+Relu supergroup) takes the Relu in as its output clamp.
  bool lower_binary(size_t index, std::string* why) {
    const Node& node = in_.nodes[index];
    const char* qop = node.op_type == "Add" ? "octet.QAdd" : "octet.QMul";
    if (!registered(qop)) return *why = std::string(qop) + " is not available", false;
    auto a = act_enc(node.inputs[0]);
    auto b = act_enc(node.inputs[1]);
    // A float constant operand without an encoding (e.g. the bias Add after a MatMul) gets
    // one from its own range.
    if (!a && b) a = encode_constant(node.inputs[0]);
    if (a && !b) b = encode_constant(node.inputs[1]);
    if (!a || !b) return *why = "an input is not an 8-bit per-tensor activation", false;
    TensorId out = node.outputs[0];
    bool relu = false;
    auto y = act_enc(out);
    if (!y) {
      const std::optional<size_t> next = single_reader(out);
      if (next && in_.nodes[*next].op_type == "Relu" && act_enc(in_.nodes[*next].outputs[0])) {
        relu = true;
        consumed_[*next] = true;
        out = in_.nodes[*next].outputs[0];
        y = act_enc(out);
      }
    }
    if (!y) return *why = "output is not an 8-bit per-tensor activation", false;
    Node n;
    n.name = node.name;
    n.op_type = qop;
    n.attrs.set("requant", std::string(requant_name()));
    if (relu) n.attrs.set("_act_min", 0.f);
    n.inputs = {code_of(node.inputs[0]), code_of(node.inputs[1])};
    n.outputs = {code_output(out, *y)};
    emit(std::move(n));
    return true;
  }

  // An 8-bit asymmetric min/max encoding (AIMET's grid, 0 exactly representable) for an
  // unquantized float constant; later act_enc() calls see it.
  std::optional<ActEnc> encode_constant(TensorId id) {
    const TensorInfo& t = in_.tensor(id);
    if (!t.is_constant() || t.dtype != DType::kF32 || !t.quant.empty() || !t.shape.is_concrete())
      return {};
    const int64_t n = checked_numel(t.shape.concrete());
    const auto* v = reinterpret_cast<const float*>(t.data->data());
    float lo = 0.f, hi = 0.f;
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(v[i])) return {};
      lo = std::min(lo, v[i]);
      hi = std::max(hi, v[i]);
    }
    if (hi - lo < 0.01f) hi = lo + 0.01f;
    QuantParams q;
    float scale = (hi - lo) / 255.f;
    int32_t zp = int32_t(std::clamp(round_half_even(-lo / scale), 0.f, 255.f));
    q.scale = {scale};
    q.zero_point = {zp};
    q.bitwidth = 8;
    in_.tensor(id).quant = q;
    report_.notes.push_back("constant '" + t.name + "' quantized with its own min/max range");
    return act_enc(id);
  }

  std::optional<size_t> single_reader(TensorId id) const {
    if (uses_[size_t(id)] != 1 || in_.is_graph_output(id)) return {};
    for (size_t i = 0; i < in_.nodes.size(); ++i)
      for (TensorId t : in_.nodes[i].inputs)
        if (t == id) return i;
    return {};
  }

  bool lower_avg_pool(const Node& node, std::string* why) {
    const std::string qop = "octet.Q" + node.op_type;
    return lower_same_encoding_free(node, qop.c_str(), why);
  }

  // One quantized input -> one quantized output, each with its own encoding.
  bool lower_same_encoding_free(const Node& node, const char* qop, std::string* why) {
    if (!registered(qop)) return *why = std::string(qop) + " is not available", false;
    auto x = act_enc(node.inputs[0]);
    auto y = act_enc(node.outputs[0]);
    if (!x || !y) return *why = "input or output is not an 8-bit per-tensor activation", false;
    Node n;
    n.name = node.name;
    n.op_type = qop;
    n.attrs = node.attrs;
    n.attrs.set("requant", std::string(requant_name()));
    n.inputs = {code_of(node.inputs[0])};
    n.outputs = {code_output(node.outputs[0], *y)};
    emit(std::move(n));
    return true;
  }

  bool lower_resize(const Node& node, std::string* why) {
    if (!registered("octet.QResize")) return *why = "octet.QResize is not available", false;
    auto x = act_enc(node.inputs[0]);
    if (!x) return *why = "input is not an 8-bit per-tensor activation", false;
    Node n;
    n.name = node.name;
    n.op_type = "octet.QResize";
    n.attrs = node.attrs;
    n.inputs = {code_of(node.inputs[0])};
    for (size_t i = 1; i < node.inputs.size(); ++i)
      n.inputs.push_back(node.has_input(i) ? plain_of(node.inputs[i]) : kNoTensor);
    // Resize keeps the input's encoding (interpolated codes); a different output encoding
    // is applied by a Requantize after it.
    n.outputs = {code_output(node.outputs[0], *x)};
    emit(std::move(n));
    retarget_encoding(node.outputs[0], *x);
    return true;
  }

  // Runs on codes; outputs inherit input 0's encoding.
  bool lower_movement(const Node& node, std::string* why) {
    auto x = act_enc(node.inputs[0]);
    if (!x) return lower_movement16(node, why);
    Node n;
    n.name = node.name;
    n.op_type = node.op_type;
    n.attrs = node.attrs;
    n.inputs = {code_of(node.inputs[0])};
    for (size_t i = 1; i < node.inputs.size(); ++i)
      n.inputs.push_back(node.has_input(i) ? plain_of(node.inputs[i]) : kNoTensor);
    if (node.op_type == "Pad") {
      const std::string mode = node.attrs.get_string("mode", "constant");
      if (in_.opset < 11) return *why = "Pad before opset 11 keeps its value in an attribute", false;
      if (mode == "constant") {
        float value = 0.f;
        if (node.has_input(2)) {
          auto v = passes::constant_f32(in_, node.inputs[2]);
          if (!v || v->size() != 1) return *why = "Pad value is not a float constant", false;
          value = (*v)[0];
        }
        if (n.inputs.size() < 3) n.inputs.resize(3, kNoTensor);
        n.inputs[2] = zero_point_constant(node.name + "_pad_code", quantize_value(value, *x));
      }
    }
    for (TensorId o : node.outputs) n.outputs.push_back(code_output(o, *x));
    emit(std::move(n));
    for (TensorId o : node.outputs) retarget_encoding(o, *x);
    return true;
  }

  // W8A16: pure rearrangements run on 16-bit codes (element-size agnostic kernels) when every
  // output keeps the input's encoding; anything else with 16-bit codes runs in float.
  bool lower_movement16(const Node& node, std::string* why) {
    auto x = act_enc16(node.inputs[0]);
    if (!x) return *why = "input is not an 8- or 16-bit per-tensor activation", false;
    const OpSchema* schema = find_op(node.op_type);
    if (!schema || !schema->moves_codes16()) return *why = "16-bit codes: no integer form of " + node.op_type, false;
    for (TensorId o : node.outputs) {
      auto own = own_.find(o);
      if (own != own_.end() && !(own->second.scale == in_.tensor(node.inputs[0]).quant.scale &&
                                 own->second.zero_point == in_.tensor(node.inputs[0]).quant.zero_point))
        return *why = "16-bit output with an encoding of its own", false;
    }
    Node n;
    n.name = node.name;
    n.op_type = node.op_type;
    n.attrs = node.attrs;
    n.inputs = {code_of(node.inputs[0])};
    for (size_t i = 1; i < node.inputs.size(); ++i)
      n.inputs.push_back(node.has_input(i) ? plain_of(node.inputs[i]) : kNoTensor);
    for (TensorId o : node.outputs) n.outputs.push_back(code_output(o, *x));
    emit(std::move(n));
    return true;
  }

  // When the model gave a moved tensor an encoding of its own, requantize to it.
  void retarget_encoding(TensorId id, const ActEnc& from) {
    auto own = act_enc_raw(id);
    if (!own || (own->scale == from.scale && own->zero_point == from.zero_point)) return;
    if (!registered("octet.Requantize")) {
      report_.notes.push_back("'" + in_.tensor(id).name + "' keeps its input's encoding " +
                              "(octet.Requantize is not available)");
      return;
    }
    const TensorId src = code_[size_t(id)];
    out_.rename_tensor(src, names_.tensor(in_.tensor(id).name + "_moved"));
    Node n;
    n.name = names_.node(in_.tensor(id).name + "/requantize");
    n.op_type = "octet.Requantize";
    n.attrs.set("requant", std::string(requant_name()));
    n.inputs = {src};
    n.outputs = {add_tensor(in_.tensor(id).name, prof_.activation_type, in_.tensor(id).shape,
                            code_params(*own))};
    code_[size_t(id)] = n.outputs[0];
    emit(std::move(n));
  }

  bool lower_concat(const Node& node, std::string* why) {
    std::vector<ActEnc> encs;
    for (TensorId t : node.inputs) {
      auto e = act_enc(t);
      if (!e) return *why = "an input is not an 8-bit per-tensor activation", false;
      encs.push_back(*e);
    }
    auto y = act_enc(node.outputs[0]);
    const ActEnc out = y ? *y : encs[0];
    Node n;
    n.name = node.name;
    n.op_type = "Concat";
    n.attrs = node.attrs;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      TensorId c = code_of(node.inputs[i]);
      if (encs[i].scale != out.scale || encs[i].zero_point != out.zero_point) {
        if (!registered("octet.Requantize"))
          return *why = "inputs have different encodings and octet.Requantize is not available", false;
        Node r;
        r.name = names_.node(node.name + "/requantize");
        r.op_type = "octet.Requantize";
        r.attrs.set("requant", std::string(requant_name()));
        r.inputs = {c};
        r.outputs = {add_tensor(names_.tensor(in_.tensor(node.inputs[i]).name + "_requantized"),
                                prof_.activation_type, in_.tensor(node.inputs[i]).shape,
                                code_params(out))};
        c = r.outputs[0];
        emit(std::move(r));
      }
      n.inputs.push_back(c);
    }
    n.outputs = {code_output(node.outputs[0], out)};
    emit(std::move(n));
    return true;
  }

  // ---- pointwise functions as lookup tables ---------------------------------------------------
  // The op table's scalar function of the node (its reference kernel's), or empty.
  ScalarFn scalar_function(const Node& node) const {
    const OpSchema* schema = find_op(node.op_type);
    return schema && schema->scalar_fn ? schema->scalar_fn(in_, node) : ScalarFn{};
  }

  bool lower_lookup(const Node& node, std::string* why) {
    if (!registered("octet.QLookup")) return *why = "octet.QLookup is not available", false;
    auto x = act_enc(node.inputs[0]);
    auto y = act_enc(node.outputs[0]);
    if (!x || !y) return *why = "input or output is not an 8-bit per-tensor activation", false;
    const ScalarFn f = scalar_function(node);
    std::vector<int8_t> table(256);
    for (int i = 0; i < 256; ++i) {
      const int32_t code = qmin_ + i;  // index = code - type min
      table[size_t(i)] = int8_t(quantize_value(f(dequantize_value(code, *x)), *y));
    }
    Node n;
    n.name = node.name;
    n.op_type = "octet.QLookup";
    n.inputs = {code_of(node.inputs[0]),
                add_constant(node.name + "_table", prof_.activation_type, {256}, table.data(), 256)};
    n.outputs = {code_output(node.outputs[0], *y)};
    emit(std::move(n));
    return true;
  }

  // ---- float fallback -------------------------------------------------------------------------
  void fallback(const Node& node, const std::string& why) {
    report_.float_nodes.push_back(node.name + " (" + node.op_type + "): " + why);
    Node n = node;
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (node.has_input(i)) n.inputs[i] = plain_of(node.inputs[i]);
    std::vector<std::pair<TensorId, TensorId>> to_quantize, to_fake_quantize;
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      const TensorId o = node.outputs[i];
      const TensorInfo& t = in_.tensor(o);
      if (any_enc(o) || (!t.quant.empty() && t.dtype == DType::kF32)) {
        // The float result; readers see its quantized value.
        n.outputs[i] = add_tensor(names_.tensor(t.name + "_float"), t.dtype, t.shape);
        (any_enc(o) ? to_quantize : to_fake_quantize).emplace_back(o, n.outputs[i]);
      } else {
        n.outputs[i] = plain_[size_t(o)] = add_tensor(t.name, t.dtype, t.shape);
      }
    }
    out_.nodes.push_back(std::move(n));
    for (auto [o, raw] : to_quantize) code_[size_t(o)] = code_of_from(o, raw);
    for (auto [o, raw] : to_fake_quantize) {
      // An encoding the integer graph cannot carry (e.g. 16 bits): simulated in float.
      const TensorInfo& t = in_.tensor(o);
      plain_[size_t(o)] = add_tensor(t.name, t.dtype, t.shape);
      add_fake_quant(t, raw, plain_[size_t(o)]);
      std::string why16;
      if (t.quant.bitwidth == 16) act_enc16(o, &why16);
      report_.notes.push_back("'" + t.name + "' has an encoding integer codes cannot carry (" +
                              (why16.empty() ? std::to_string(t.quant.bitwidth) +
                                                   " bits or per channel"
                                             : why16) +
                              "): fake-quantized in float");
    }
  }

  TensorId code_of_from(TensorId id, TensorId raw) {
    return quantize_node(id, raw, in_.tensor(id).name);
  }

  // QuantizeLinear(raw) -> a new code tensor `name` with `id`'s encoding.
  TensorId quantize_node(TensorId id, TensorId raw, const std::string& name) {
    const ActEnc e = *any_enc(id);
    const TensorInfo& t = in_.tensor(id);
    const TensorId c = add_tensor(name, e.type, t.shape, code_params(e));
    Node n;
    n.name = names_.node(t.name + "/quantize");
    n.op_type = "QuantizeLinear";
    n.inputs = {raw, add_scalar(t.name + "_scale", DType::kF32, e.scale),
                zero_point_constant(t.name + "_zero_point", e.zero_point, e.type)};
    n.outputs = {c};
    if (prof_.quantize_half_away) n.attrs.set("_round_half_away", int64_t{1});
    out_.nodes.push_back(std::move(n));
    return c;
  }

  void add_fake_quant(const TensorInfo& t, TensorId raw, TensorId out) {
    const QuantParams& qp = t.quant;
    const int64_t half = int64_t{1} << (qp.bitwidth - 1);
    std::vector<int64_t> offsets;
    for (int32_t zp : qp.zero_point) offsets.push_back(-int64_t{zp});
    const bool strict = qp.symmetric && !qp.zero_point.empty() && qp.zero_point[0] == half - 1;
    Node n;
    n.name = names_.node(t.name + "/fake_quant");
    n.op_type = "octet.QuantizeDequantize";
    n.attrs.set("scale", qp.scale);
    n.attrs.set("offset", offsets);
    n.attrs.set("qmin", int64_t{0});
    n.attrs.set("qmax", 2 * half - 1 - (strict ? 1 : 0));
    if (qp.scale.size() > 1 || qp.axis >= 0) n.attrs.set("axis", int64_t{qp.axis});
    n.inputs = {raw};
    n.outputs = {out};
    out_.nodes.push_back(std::move(n));
  }

  // ---- graph outputs: float, under their own names --------------------------------------------
  void finish_outputs() {
    for (TensorId id : in_.outputs) {
      const TensorInfo& t = in_.tensor(id);
      if (code_[size_t(id)] != kNoTensor && out_.tensor(code_[size_t(id)]).name == t.name)
        out_.rename_tensor(code_[size_t(id)], names_.tensor(t.name + "_q"));
      const TensorId p = plain_of(id);
      out_.rename_tensor(p, t.name);  // a dequantized twin takes the output's name
      out_.outputs.push_back(p);
    }
  }

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
};

// Encoding-preserving ops pass their input's encoding on to outputs that have none (QuantSim's
// unquantized data-movement ops). Pure rearrangements also pass an output's encoding back to
// an input that has none and no other reader: the layout pass puts a Transpose between a Conv
// and the tensor QuantSim annotated, and quantizing before or after a rearrangement is the same.
void propagate_encodings(Graph& g, std::map<TensorId, QuantParams>* own) {
  auto rearranges = [](const std::string& op) {
    const OpSchema* s = find_op(op);
    return s && s->encoding == EncodingClass::kRearranges;
  };
  const std::vector<int32_t> uses = g.use_counts();
  for (const Node& n : g.nodes) {
    if (!moves_codes(n.op_type) && n.op_type != "Resize") continue;
    if (n.inputs.empty() || !n.has_input(0)) continue;
    for (TensorId o : n.outputs)
      if (!g.tensor(o).quant.empty()) (*own)[o] = g.tensor(o).quant;
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const Node& n : g.nodes) {
      if (!moves_codes(n.op_type) && n.op_type != "Resize") continue;
      if (n.inputs.empty() || !n.has_input(0)) continue;
      const QuantParams q = g.tensor(n.inputs[0]).quant;
      if (q.empty()) continue;
      for (TensorId o : n.outputs) {
        TensorInfo& t = g.tensor(o);
        if (t.quant.empty() && t.dtype == DType::kF32) {
          t.quant = q;
          changed = true;
        }
      }
    }
    for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
      const Node& n = *it;
      if (!rearranges(n.op_type) || n.outputs.size() != 1 || !n.has_input(0)) continue;
      TensorInfo& in = g.tensor(n.inputs[0]);
      const QuantParams& q = g.tensor(n.outputs[0]).quant;
      if (q.empty() || !in.quant.empty() || in.is_constant() || in.dtype != DType::kF32 ||
          uses[size_t(n.inputs[0])] != 1 || g.is_graph_input(n.inputs[0]))
        continue;
      in.quant = q;
      changed = true;
    }
  }
}

}  // namespace

LoweringReport lower_to_integer(Graph& graph, const TargetProfile& profile) {
  // The lowering indexes scales and zero points by their layout; encodings from any source
  // (a file, an API caller) are checked against it here, once.
  for (const TensorInfo& t : graph.tensors)
    check_quant_params(t.quant, t.shape, "lowering: encoding of '" + t.name + "'");
  Graph annotated = graph;
  std::map<TensorId, QuantParams> own;
  propagate_encodings(annotated, &own);
  Lowerer lowerer(annotated, profile, std::move(own));
  LoweringReport report = lowerer.run();
  Graph lowered = lowerer.take();
  // A fresh graph, so that the name index is built from the final names.
  Graph fresh;
  fresh.name = lowered.name;
  fresh.opset = lowered.opset;
  fresh.tensors = std::move(lowered.tensors);
  fresh.nodes = std::move(lowered.nodes);
  fresh.inputs = std::move(lowered.inputs);
  fresh.outputs = std::move(lowered.outputs);
  fresh.reindex();
  fresh.topo_sort();
  graph = std::move(fresh);
  return report;
}

bool has_integer_rule(std::string_view op_type) {
  static const std::set<std::string_view> own{
      "QuantizeLinear", "DequantizeLinear", "Conv", "Gemm", "MatMul", "Add", "Mul",
      "AveragePool", "GlobalAveragePool", "Concat", "Softmax", "Resize"};
  const OpSchema* s = find_op(op_type);
  return own.count(op_type) || (s && (s->preserves_encoding() || s->scalar_fn));
}

bool is_integer_graph(const Graph& graph) {
  for (const Node& n : graph.nodes)
    if (n.op_type.starts_with("octet.Q") && n.op_type != "octet.QuantizeDequantize") return true;
  for (const Node& n : graph.nodes)
    if (n.op_type == "octet.Requantize") return true;
  return false;
}

}  // namespace octet
