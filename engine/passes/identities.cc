#include "engine/passes/passes.h"

namespace octet {
namespace {

// True when the node copies input 0 to output 0 and has no other used output.
bool is_identity_like(const Graph& graph, const Node& n, const std::vector<int32_t>& uses) {
  if (n.inputs.empty() || n.inputs[0] == kNoTensor || n.outputs.empty() ||
      n.outputs[0] == kNoTensor)
    return false;
  for (size_t o = 1; o < n.outputs.size(); ++o)
    if (n.outputs[o] != kNoTensor && uses[n.outputs[o]] > 0) return false;
  if (n.op_type == "Identity" || n.op_type == "Dropout") return true;  // inference Dropout
  if (n.op_type == "Cast") {
    const TensorInfo& in = graph.tensor(n.inputs[0]);
    const TensorInfo& out = graph.tensor(n.outputs[0]);
    return in.dtype != DType::kUndefined && in.dtype == out.dtype;
  }
  return false;
}

void rename_everywhere(Graph& graph, std::vector<Node>& kept, TensorId from, TensorId to) {
  for (std::vector<Node>* list : {&graph.nodes, &kept})
    for (Node& m : *list) {
      for (TensorId& o : m.outputs)
        if (o == from) o = to;
      for (TensorId& i : m.inputs)
        if (i == from) i = to;
    }
  for (TensorId& o : graph.outputs)
    if (o == from) o = to;
}

}  // namespace

PassReport remove_identities(Graph& graph) {
  PassReport report{"remove-identities", 0, {}};
  const std::vector<int32_t> uses = graph.use_counts();
  std::vector<Node> kept;
  for (Node& n : graph.nodes) {
    if (is_identity_like(graph, n, uses)) {
      const TensorId in = n.inputs[0], out = n.outputs[0];
      // Keep the node when its output is a graph output fed by a graph input, a constant
      // or another graph output: bypassing would lose a name the user asked for.
      const bool out_is_output = graph.is_graph_output(out);
      const bool in_is_boundary = graph.is_graph_input(in) || graph.is_graph_output(in) ||
                                  graph.tensor(in).is_constant();
      if (!(out_is_output && in_is_boundary)) {
        n.inputs.clear();  // this node is dropped: keep it out of the renaming
        n.outputs.clear();
        // Both names hold the same values: the one that stays keeps the encoding either had
        // (quantsim puts it on whichever tensor its config quantizes).
        const TensorId kept_id = out_is_output ? out : in;
        const TensorId gone_id = out_is_output ? in : out;
        if (graph.tensor(kept_id).quant.empty()) graph.tensor(kept_id).quant = graph.tensor(gone_id).quant;
        if (out_is_output) {
          // The producer writes the graph output directly; other readers follow.
          rename_everywhere(graph, kept, in, out);
        } else {
          graph.replace_uses(out, in);
          for (Node& m : kept)
            for (TensorId& i : m.inputs)
              if (i == out) i = in;
        }
        report.changed++;
        continue;
      }
    }
    kept.push_back(std::move(n));
  }
  graph.nodes = std::move(kept);
  return report;
}

}  // namespace octet
