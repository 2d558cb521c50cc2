// QuantizeLinear / DequantizeLinear of a QDQ model, data movement on codes, Concat.
#include "base/error.h"
#include "engine/passes/lower/lowerer.h"

namespace octet::lowering {

// A QuantizeLinear / DequantizeLinear left by a QDQ model whose grid is the tensor's own
// encoding: the codes already exist, nothing to run.
bool Lowerer::lower_qdq(const Node& node, std::string* why) {
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
TensorId Lowerer::coded_source(TensorId coded) const {
  for (const Node& n : in_.nodes)
    if (n.op_type == "QuantizeLinear" && !n.outputs.empty() && n.outputs[0] == coded) return n.inputs[0];
  return coded;
}

// Runs on codes; outputs inherit input 0's encoding.
bool Lowerer::lower_movement(const Node& node, std::string* why) {
  auto x = act_enc(node.inputs[0]);
  if (!x) return lower_movement16(node, why);
  for (TensorId o : node.outputs)
    if (wider_than_8_bits(o)) return *why = "8-bit input, 16-bit output", false;
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
bool Lowerer::lower_movement16(const Node& node, std::string* why) {
  auto x = act_enc16(node.inputs[0]);
  if (!x) return *why = why_no_enc(node.inputs[0]), false;
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

bool Lowerer::lower_concat(const Node& node, std::string* why) {
  std::vector<ActEnc> encs;
  for (TensorId t : node.inputs) {
    auto e = act_enc(t);
    if (!e) return *why = "an input is not an 8-bit per-tensor activation", false;
    encs.push_back(*e);
  }
  if (wider_than_8_bits(node.outputs[0])) return *why = "8-bit inputs, 16-bit output", false;
  auto y = act_enc(node.outputs[0]);
  if (!y) {
    // An unquantized output: codes concatenate exactly only on one shared grid, which the
    // output then carries (readers dequantize it); otherwise the concatenation runs in float.
    for (const ActEnc& e : encs)
      if (e.scale != encs[0].scale || e.zero_point != encs[0].zero_point)
        return *why = "the output has no encoding and the inputs' encodings differ", false;
    in_.tensor(node.outputs[0]).quant = in_.tensor(node.inputs[0]).quant;
  }
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

}  // namespace octet::lowering
