#include "engine/passes/passes.h"

namespace octet {

PassReport remove_dead_nodes(Graph& graph) {
  PassReport report{"remove-dead-nodes", 0, {}};
  std::vector<char> needed(graph.tensors.size(), 0);
  for (TensorId o : graph.outputs) needed[o] = 1;
  std::vector<char> keep(graph.nodes.size(), 0);
  for (size_t k = graph.nodes.size(); k-- > 0;) {
    const Node& n = graph.nodes[k];
    for (TensorId o : n.outputs)
      if (o != kNoTensor && needed[o]) keep[k] = 1;
    if (!keep[k]) continue;
    for (TensorId i : n.inputs)
      if (i != kNoTensor) needed[i] = 1;
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    if (keep[k]) kept.push_back(std::move(graph.nodes[k]));
    else report.changed++;
  }
  graph.nodes = std::move(kept);
  return report;
}

}  // namespace octet
