#include "engine/passes/passes.h"

namespace octet {

// Keeps the nodes the graph outputs depend on; works in any node order (passes append
// nodes at the end before the graph is sorted again).
PassReport remove_dead_nodes(Graph& graph) {
  PassReport report{"remove-dead-nodes", 0, {}};
  const std::vector<int32_t> producer = graph.producers();
  std::vector<char> keep(graph.nodes.size(), 0);
  std::vector<TensorId> pending(graph.outputs.begin(), graph.outputs.end());
  std::vector<char> seen(graph.tensors.size(), 0);
  while (!pending.empty()) {
    TensorId t = pending.back();
    pending.pop_back();
    if (t == kNoTensor || seen[t]) continue;
    seen[t] = 1;
    int32_t p = producer[t];
    if (p < 0 || keep[p]) continue;
    keep[p] = 1;
    for (TensorId i : graph.nodes[p].inputs) pending.push_back(i);
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
