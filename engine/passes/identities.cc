#include "engine/passes/passes.h"

namespace octet {

PassReport remove_identities(Graph& graph) {
  PassReport report{"remove-identities"};
  std::vector<Node> kept;
  for (Node& n : graph.nodes) {
    bool identity = n.op_type == "Identity" || n.op_type == "Dropout";
    if (identity && n.inputs.size() >= 1 && n.inputs[0] != kNoTensor && !n.outputs.empty()) {
      TensorId in = n.inputs[0], out = n.outputs[0];
      // Keep the node when its output is a graph output fed by a graph input or by
      // another graph output: bypassing would lose a name the user asked for.
      bool out_is_output = graph.is_graph_output(out);
      bool in_is_boundary = graph.is_graph_input(in) || graph.is_graph_output(in) ||
                            graph.tensor(in).is_constant();
      if (!(out_is_output && in_is_boundary) && (n.outputs.size() == 1 || n.outputs[1] == kNoTensor)) {
        if (out_is_output) {
          // Rename the producer's output instead so the graph output keeps its name.
          for (Node& m : graph.nodes)
            for (TensorId& o : m.outputs)
              if (o == in) o = out;
          graph.replace_uses(in, out);
          for (Node& m : kept)
            for (TensorId& o : m.outputs)
              if (o == in) o = out;
          for (Node& m : kept)
            for (TensorId& i : m.inputs)
              if (i == in) i = out;
        } else {
          graph.replace_uses(out, in);
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
