// The lowering's walk: one rule per node (the rule table below), the float fallback, the
// graph's float inputs and outputs, and the pass's entry points.
#include <string>

#include "base/error.h"
#include "engine/passes/lower/lowerer.h"

namespace octet::lowering {

std::span<const Lowerer::Rule> Lowerer::named_rules() {
  static const Rule rules[] = {
      {"QuantizeLinear", &Lowerer::lower_qdq},
      {"DequantizeLinear", &Lowerer::lower_qdq},
      {"Conv", &Lowerer::lower_conv},
      {"Gemm", &Lowerer::lower_linear},
      {"MatMul", &Lowerer::lower_linear},
      {"Add", &Lowerer::lower_binary},
      {"Mul", &Lowerer::lower_binary},
      {"AveragePool", &Lowerer::lower_avg_pool},
      {"GlobalAveragePool", &Lowerer::lower_avg_pool},
      {"Concat", &Lowerer::lower_concat},
      {"Softmax", &Lowerer::lower_softmax},
      {"Resize", &Lowerer::lower_resize},
  };
  return rules;
}

Lowerer::RuleFn Lowerer::rule_for(std::string_view op_type) {
  for (const Rule& r : named_rules())
    if (r.op_type == op_type) return r.lower;
  const OpSchema* s = find_op(op_type);
  if (s && s->preserves_encoding()) return &Lowerer::lower_movement;
  if (s && s->scalar_fn) return &Lowerer::lower_lookup;
  return nullptr;
}

Lowerer::Lowerer(Graph& in, const TargetProfile& profile, std::map<TensorId, QuantParams> own)
    : in_(in), prof_(profile), names_(in), own_(std::move(own)),
      plain_(in.tensors.size(), kNoTensor), code_(in.tensors.size(), kNoTensor),
      uses_(in.use_counts()) {
  out_.name = in.name;
  out_.opset = in.opset;
  qmin_ = profile.activation_type == DType::kI8 ? -128 : 0;
  qmax_ = qmin_ + 255;
}

void Lowerer::lower_node(size_t index) {
  const Node& node = in_.nodes[index];
  std::string why;
  bool done = false;
  const RuleFn rule = rule_for(node.op_type);
  if (rule)
    done = (this->*rule)(node, &why);
  else
    why = "no integer form of " + node.op_type;
  if (!done) {
    bool wide = false;
    // Activations only: a constant's 16-bit encoding (W16 weights) is a weight's width.
    for (TensorId t : node.inputs)
      wide = wide || (t != kNoTensor && !in_.tensor(t).is_constant() && act_enc16(t));
    for (TensorId t : node.outputs) wide = wide || act_enc16(t);
    if (wide && why.find("16-bit") == std::string::npos) why = "16-bit activations: " + why;
    fallback(node, why);
  }
}

LoweringReport Lowerer::run() {
  for (TensorId id : in_.inputs) {
    const TensorInfo& t = in_.tensor(id);
    plain_[size_t(id)] = add_tensor(t.name, t.dtype, t.shape);
    out_.inputs.push_back(plain_[size_t(id)]);
  }
  consumed_.assign(in_.nodes.size(), false);
  for (size_t i = 0; i < in_.nodes.size(); ++i) {
    if (consumed_[i]) continue;
    lower_node(i);
  }
  finish_outputs();
  return report_;
}

TensorId Lowerer::code_output(TensorId id, const ActEnc& e) {
  const TensorInfo& t = in_.tensor(id);
  const TensorId c = add_tensor(t.name, e.type, t.shape, code_params(e));
  code_[size_t(id)] = c;
  return c;
}

void Lowerer::emit(Node n) {
  ++report_.integer_nodes;
  out_.nodes.push_back(std::move(n));
}

// An op with no integer form, or whose rule refused: it runs in float between
// DequantizeLinear and QuantizeLinear.
void Lowerer::fallback(const Node& node, const std::string& why) {
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

TensorId Lowerer::code_of_from(TensorId id, TensorId raw) {
  return quantize_node(id, raw, in_.tensor(id).name);
}

// QuantizeLinear(raw) -> a new code tensor `name` with `id`'s encoding.
TensorId Lowerer::quantize_node(TensorId id, TensorId raw, const std::string& name) {
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

void Lowerer::add_fake_quant(const TensorInfo& t, TensorId raw, TensorId out) {
  const QuantParams& qp = t.quant;
  std::vector<int64_t> offsets;
  for (int32_t zp : qp.zero_point) offsets.push_back(-int64_t{zp});
  Node n;
  n.name = names_.node(t.name + "/fake_quant");
  n.op_type = "octet.QuantizeDequantize";
  n.attrs.set("scale", qp.scale);
  n.attrs.set("offset", offsets);
  n.attrs.set("qmin", qp.qmin());
  n.attrs.set("qmax", qp.qmax());
  if (qp.scale.size() > 1 || qp.axis >= 0) n.attrs.set("axis", int64_t{qp.axis});
  n.inputs = {raw};
  n.outputs = {out};
  out_.nodes.push_back(std::move(n));
}

void Lowerer::finish_outputs() {
  for (TensorId id : in_.outputs) {
    const TensorInfo& t = in_.tensor(id);
    if (code_[size_t(id)] != kNoTensor && out_.tensor(code_[size_t(id)]).name == t.name)
      out_.rename_tensor(code_[size_t(id)], names_.tensor(t.name + "_q"));
    const TensorId p = plain_of(id);
    out_.rename_tensor(p, t.name);  // a dequantized twin takes the output's name
    out_.outputs.push_back(p);
  }
}

}  // namespace octet::lowering

namespace octet {

LoweringReport lower_to_integer(Graph& graph, const TargetProfile& profile) {
  // The lowering indexes scales and zero points by their layout; encodings from any source
  // (a file, an API caller) are checked against it here, once.
  for (const TensorInfo& t : graph.tensors)
    check_quant_params(t.quant, t.shape, "lowering: encoding of '" + t.name + "'");
  Graph annotated = graph;
  std::map<TensorId, QuantParams> own;
  lowering::propagate_encodings(annotated, &own);
  lowering::Lowerer lowerer(annotated, profile, std::move(own));
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
  return lowering::Lowerer::rule_for(op_type) != nullptr;
}

bool is_integer_graph(const Graph& graph) {
  for (const Node& n : graph.nodes)
    if (n.op_type.starts_with("octet.Q") && n.op_type != "octet.QuantizeDequantize") return true;
  for (const Node& n : graph.nodes)
    if (n.op_type == "octet.Requantize") return true;
  return false;
}

}  // namespace octet
