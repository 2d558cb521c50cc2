// Add, Mul, average pools, Softmax, Resize and pointwise functions (as tables) on codes.
#include <algorithm>
#include <cmath>
#include "base/error.h"
#include "engine/passes/lower/lowerer.h"
#include "simd/round_half_even.h"

namespace octet::lowering {

// Add / Mul of two quantized tensors; an Add whose only reader is a Relu with the encoding
// (AIMET's Add+Relu supergroup) takes the Relu in as its output clamp.
bool Lowerer::lower_binary(const Node& node, std::string* why) {
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
  set_arithmetic(n);
  if (relu) n.attrs.set("_act_min", 0.f);
  n.inputs = {code_of(node.inputs[0]), code_of(node.inputs[1])};
  n.outputs = {code_output(out, *y)};
  emit(std::move(n));
  return true;
}

std::optional<size_t> Lowerer::single_reader(TensorId id) const {
  if (uses_[size_t(id)] != 1 || in_.is_graph_output(id)) return {};
  for (size_t i = 0; i < in_.nodes.size(); ++i)
    for (TensorId t : in_.nodes[i].inputs)
      if (t == id) return i;
  return {};
}

bool Lowerer::lower_softmax(const Node& node, std::string* why) {
  return lower_same_encoding_free(node, "octet.QSoftmax", why, true);
}

bool Lowerer::lower_avg_pool(const Node& node, std::string* why) {
  const std::string qop = "octet.Q" + node.op_type;
  // ORT's QLinearAveragePool (float throughout) is not emulated yet; its global pool is.
  return lower_same_encoding_free(node, qop.c_str(), why, node.op_type == "GlobalAveragePool");
}

// One quantized input -> one quantized output, each with its own encoding.
bool Lowerer::lower_same_encoding_free(const Node& node, const char* qop, std::string* why,
                                       bool profile_arithmetic) {
  if (!registered(qop)) return *why = std::string(qop) + " is not available", false;
  auto x = act_enc(node.inputs[0]);
  auto y = act_enc(node.outputs[0]);
  if (!x || !y) return *why = "input or output is not an 8-bit per-tensor activation", false;
  Node n;
  n.name = node.name;
  n.op_type = qop;
  n.attrs = node.attrs;
  n.attrs.set("requant", std::string(requant_name()));
  if (profile_arithmetic) set_arithmetic(n);
  n.inputs = {code_of(node.inputs[0])};
  n.outputs = {code_output(node.outputs[0], *y)};
  emit(std::move(n));
  return true;
}

bool Lowerer::lower_resize(const Node& node, std::string* why) {
  if (!registered("octet.QResize")) return *why = "octet.QResize is not available", false;
  // ONNX Runtime (1.30) runs only a nearest Resize on codes; any other mode stays in float
  // between DequantizeLinear and QuantizeLinear, and so it does here.
  if (prof_.arithmetic == kernels::OpArithmetic::kMlas && node.attrs.get_string("mode", "nearest") != "nearest")
    return *why = "a " + node.attrs.get_string("mode", "nearest") +
                  " Resize runs in float under this profile (as ONNX Runtime runs it)", false;
  auto x = act_enc(node.inputs[0]);
  if (!x) return *why = "input is not an 8-bit per-tensor activation", false;
  if (wider_than_8_bits(node.outputs[0])) return *why = "8-bit input, 16-bit output", false;
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

// The op table's scalar function of the node (its reference kernel's), or empty.
ScalarFn Lowerer::scalar_function(const Node& node) const {
  const OpSchema* schema = find_op(node.op_type);
  return schema && schema->scalar_fn ? schema->scalar_fn(in_, node) : ScalarFn{};
}

bool Lowerer::lower_lookup(const Node& node, std::string* why) {
  // A pointwise op whose attributes or constant inputs fix no function has no table.
  const ScalarFn f = scalar_function(node);
  if (!f) return *why = "no integer form of " + node.op_type + " with these inputs", false;
  if (!registered("octet.QLookup")) return *why = "octet.QLookup is not available", false;
  auto x = act_enc(node.inputs[0]);
  auto y = act_enc(node.outputs[0]);
  if (!x || !y) return *why = "input or output is not an 8-bit per-tensor activation", false;
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

}  // namespace octet::lowering
