#include "engine/passes/passes.h"

namespace octet {

std::vector<PassReport> run_optimization_passes(Graph& graph) {
  std::vector<PassReport> reports;
  reports.push_back(remove_identities(graph));
  reports.push_back(remove_dead_nodes(graph));
  graph.compact();
  return reports;
}

}  // namespace octet
