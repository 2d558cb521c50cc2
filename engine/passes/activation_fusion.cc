// Fuses Relu and Clip (ReLU6 and other constant bounds) into the Conv / ConvTranspose /
// Gemm / MatMul producing their input: the producer gets `_act_min` / `_act_max`.
#include <algorithm>
#include <limits>
#include <optional>

#include "engine/op.h"
#include "engine/passes/pass_util.h"
#include "engine/passes/passes.h"

namespace octet {
namespace {

struct Bounds {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

// The clamp an activation node applies, or nullopt when it is not a constant clamp.
std::optional<Bounds> activation_bounds(const Graph& g, const Node& a) {
  Bounds b;
  if (a.op_type == "Relu") {
    b.lo = 0.f;
    return b;
  }
  if (a.op_type != "Clip") return std::nullopt;
  if (g.opset > 0 && g.opset < 11) {
    b.lo = a.attrs.get_float("min", -std::numeric_limits<float>::max());
    b.hi = a.attrs.get_float("max", std::numeric_limits<float>::max());
    return b;
  }
  for (size_t i = 1; i <= 2; ++i) {
    if (!a.has_input(i)) continue;
    auto v = passes::constant_f32(g, a.inputs[i]);
    if (!v || v->size() != 1) return std::nullopt;
    (i == 1 ? b.lo : b.hi) = (*v)[0];
  }
  return b;
}

// The products of a weight (Conv, ConvTranspose, Gemm, MatMul) clamp their outputs themselves.
bool fusable_producer(const std::string& op) { return param_slots(op).weight >= 0; }

}  // namespace

PassReport fuse_activations(Graph& graph) {
  PassReport report{"fuse-activations", 0, {}};
  std::vector<int32_t> producer = graph.producers();
  std::vector<int32_t> uses = graph.use_counts();
  std::vector<char> remove(graph.nodes.size(), 0);
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& a = graph.nodes[k];
    if (a.op_type != "Relu" && a.op_type != "Clip") continue;
    if (a.inputs.empty() || a.inputs[0] == kNoTensor || a.outputs.size() != 1) continue;
    const TensorId x = a.inputs[0];
    if (producer[x] < 0 || remove[producer[x]]) continue;
    Node& p = graph.nodes[producer[x]];
    if (!fusable_producer(p.op_type) || p.outputs.size() != 1) continue;
    if (uses[x] != 1 || graph.is_graph_output(x)) continue;
    if (graph.tensor(x).dtype != DType::kF32) continue;
    auto bounds = activation_bounds(graph, a);
    if (!bounds) {
      report.notes.push_back(a.op_type + " '" + a.name + "' not fused: its bounds are not constant");
      continue;
    }
    float lo = std::max(bounds->lo, p.attrs.get_float("_act_min", -std::numeric_limits<float>::infinity()));
    float hi = std::min(bounds->hi, p.attrs.get_float("_act_max", std::numeric_limits<float>::infinity()));
    if (!(lo <= hi)) {  // disjoint ranges (or min > max): a clamp of clamps is not one clamp
      report.notes.push_back(a.op_type + " '" + a.name + "' not fused: empty range");
      continue;
    }
    p.attrs.set("_act_min", lo);
    p.attrs.set("_act_max", hi);
    // The activation's output (possibly a graph output) keeps its id and name.
    p.outputs[0] = a.outputs[0];
    remove[k] = 1;
    report.changed++;
  }
  passes::erase_nodes(graph, remove);
  return report;
}

}  // namespace octet
