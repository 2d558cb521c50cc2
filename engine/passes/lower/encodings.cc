// Encodings as code types; the code and the plain (float) version of every tensor; encodings
// passed along data movement.
#include <algorithm>
#include <cmath>
#include <cstring>
#include "base/error.h"
#include "engine/constant_encoding.h"
#include "engine/passes/lower/lowerer.h"
#include "kernels/fake_quant.h"
#include "simd/round_half_even.h"

namespace octet::lowering {

using simd::round_half_even;

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
    if (!preserves_encoding(n.op_type) && n.op_type != "Resize") continue;
    if (n.inputs.empty() || !n.has_input(0)) continue;
    for (TensorId o : n.outputs)
      if (!g.tensor(o).quant.empty()) (*own)[o] = g.tensor(o).quant;
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const Node& n : g.nodes) {
      if (!preserves_encoding(n.op_type) && n.op_type != "Resize") continue;
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

std::optional<ActEnc> Lowerer::act_enc(TensorId id) const {
  const TensorInfo& t = in_.tensor(id);
  if (t.dtype != DType::kF32) return {};
  return to_enc(t.quant);
}

// A moved tensor's own encoding, where the model gave it one.
std::optional<ActEnc> Lowerer::act_enc_raw(TensorId id) const {
  auto it = own_.find(id);
  return it == own_.end() ? std::nullopt : to_enc(it->second);
}

std::optional<ActEnc> Lowerer::to_enc(const QuantParams& q) const {
  if (q.scale.size() != 1 || q.zero_point.size() != 1) return {};
  if (q.bitwidth != 8 || q.block_size != 0) return {};
  if (!(std::isfinite(q.scale[0]) && q.scale[0] > 0.f)) return {};
  if (q.zero_point[0] < 0 || q.zero_point[0] > 255) return {};
  const int32_t shift = prof_.activation_type == DType::kI8 ? 128 : 0;
  return ActEnc{q.scale[0], q.zero_point[0] - shift, q.symmetric, prof_.activation_type};
}

// A per-tensor 16-bit activation encoding in the profile's 16-bit code type, or nullopt with
// the reason (profile without one, int16 needing a symmetric encoding, ...).
std::optional<ActEnc> Lowerer::to_enc16(const QuantParams& q, std::string* why) const {
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
std::optional<ActEnc> Lowerer::act_enc16(TensorId id, std::string* why) const {
  const TensorInfo& t = in_.tensor(id);
  if (t.dtype != DType::kF32) return std::nullopt;
  return to_enc16(t.quant, why);
}

// 8-bit (act_enc) or 16-bit encoding: what QuantizeLinear / DequantizeLinear can carry.
bool Lowerer::wider_than_8_bits(TensorId id) const {
  if (!in_.tensor(id).quant.empty() && !act_enc(id) && act_enc16(id)) return true;
  auto it = own_.find(id);
  return it != own_.end() && !to_enc(it->second) && to_enc16(it->second);
}

std::optional<ActEnc> Lowerer::any_enc(TensorId id) const {
  if (auto e = act_enc(id)) return e;
  return act_enc16(id);
}

// Why a Conv / Gemm / MatMul tensor has no integer encoding.
std::string Lowerer::why_no_enc(TensorId id) const {
  const TensorInfo& t = in_.tensor(id);
  if (t.quant.bitwidth == 16 && t.quant.scale.size() == 1) {
    std::string why;
    act_enc16(id, &why);
    return "'" + t.name + "': " + why;
  }
  const std::string what = t.quant.empty() ? "has no encoding"
                           : t.quant.scale.size() > 1 ? "has a per-channel encoding"
                                                      : "has a " + std::to_string(t.quant.bitwidth) + "-bit encoding";
  return "'" + t.name + "' " + what + ", not an 8- or 16-bit per-tensor activation";
}

QuantParams Lowerer::code_params(const ActEnc& e) const {
  QuantParams q;
  q.scale = {e.scale};
  q.zero_point = {e.zero_point};
  q.bitwidth = is_code16(e.type) ? 16 : 8;
  q.symmetric = e.symmetric;
  return q;
}

int32_t Lowerer::quantize_value(float v, const ActEnc& e) const {
  float r = prof_.quantize_half_away ? std::round(v / e.scale) : round_half_even(v / e.scale);
  double c = double(r) + e.zero_point;
  if (std::isnan(v)) c = e.zero_point;
  if (e.type != DType::kUndefined)
    return int32_t(std::clamp<double>(c, code_type_min(e.type), code_type_max(e.type)));
  return int32_t(std::clamp<double>(c, qmin_, qmax_));
}

float Lowerer::dequantize_value(int32_t code, const ActEnc& e) const {
  return float(code - e.zero_point) * e.scale;
}

// The code version of a quantized tensor (QuantizeLinear of its float value if needed).
TensorId Lowerer::code_of(TensorId id) {
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

TensorId Lowerer::zero_point_constant(const std::string& base, int32_t zp,
                             DType type) {
  if (type == DType::kU16) return add_scalar(base, DType::kU16, uint16_t(zp));
  if (type == DType::kI16) return add_scalar(base, DType::kI16, int16_t(zp));
  if (prof_.activation_type == DType::kI8) return add_scalar(base, DType::kI8, int8_t(zp));
  return add_scalar(base, DType::kU8, uint8_t(zp));
}

// The float (or non-float plain) version of a tensor: quantized activations dequantized,
// quantized constants fake-quantized.
TensorId Lowerer::plain_of(TensorId id) {
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
    const std::optional<ActEnc> enc = any_enc(id);
    OCTET_CHECK(enc, "lowering: '", t.name, "' holds integer codes but has no encoding");
    const ActEnc e = *enc;
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
BufferPtr Lowerer::fake_quantized(const TensorInfo& t) {
  const Dims dims = t.shape.concrete();
  const int64_t n = checked_numel(dims);
  const QuantParams& q = t.quant;
  kernels::FakeQuantParams p;
  p.scale = q.scale;
  for (int32_t z : q.zero_point) p.offset.push_back(-z);
  p.qmin = int32_t(q.qmin());
  p.qmax = int32_t(q.qmax());
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

// An 8-bit asymmetric min/max encoding (AIMET's grid, 0 exactly representable) for an
// unquantized float constant; later act_enc() calls see it.
std::optional<ActEnc> Lowerer::encode_constant(TensorId id) {
  const std::optional<QuantParams> q = own_range_encoding(in_.tensor(id));
  if (!q) return {};
  in_.tensor(id).quant = *q;
  report_.notes.push_back("constant '" + in_.tensor(id).name + "' quantized with its own min/max range");
  return act_enc(id);
}

// When the model gave a moved tensor an encoding of its own, requantize to it.
void Lowerer::retarget_encoding(TensorId id, const ActEnc& from) {
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

}  // namespace octet::lowering
