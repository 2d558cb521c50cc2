#include "quant/ptq/relu6.h"

#include "engine/passes/pass_util.h"

namespace octet::quant {
namespace {

// The scalar value of an optional constant Clip bound; nullopt when absent/not constant.
std::optional<float> scalar_input(const Graph& g, const Node& n, size_t slot) {
  if (!n.has_input(slot)) return std::nullopt;
  auto v = passes::constant_f32(g, n.inputs[slot]);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

}  // namespace

Relu6Report replace_relu6_with_relu(Graph& graph) {
  Relu6Report report;
  for (Node& n : graph.nodes) {
    if (n.op_type == "Clip") {
      std::optional<float> lo, hi;
      if (graph.opset > 0 && graph.opset < 11) {
        if (n.attrs.has("min")) lo = n.attrs.get_float("min", 0.f);
        if (n.attrs.has("max")) hi = n.attrs.get_float("max", 0.f);
      } else {
        lo = scalar_input(graph, n, 1);
        hi = scalar_input(graph, n, 2);
      }
      if (!lo || !hi || *lo != 0.f || *hi != 6.f) continue;
      if (n.inputs.empty() || n.inputs[0] == kNoTensor) continue;
      // Exporters (tf2onnx) often record no type for intermediate tensors: unknown is float.
      const DType t = graph.tensor(n.inputs[0]).dtype;
      if (t != DType::kF32 && t != DType::kUndefined) continue;
      n.op_type = "Relu";
      n.inputs.resize(1);
      n.attrs = Attributes{};
      report.changed.push_back(n.name);
    } else if (n.attrs.has("_act_min") && n.attrs.has("_act_max") &&
               n.attrs.get_float("_act_min", -1.f) == 0.f &&
               n.attrs.get_float("_act_max", 0.f) == 6.f) {
      n.attrs.erase("_act_max");
      report.changed.push_back(n.name);
      report.notes.push_back("'" + n.name + "': fused ReLU6 became a fused ReLU");
    }
  }
  if (!report.changed.empty())
    report.notes.push_back(std::to_string(report.changed.size()) +
                           " ReLU6 replaced by ReLU: float outputs may change where values exceeded 6");
  return report;
}

}  // namespace octet::quant
