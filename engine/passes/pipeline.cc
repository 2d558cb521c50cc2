#include "engine/op.h"
#include "engine/passes/passes.h"
#include "engine/prepare_graph.h"

namespace octet {

std::vector<PassReport> run_optimization_passes(Graph& graph, const PassOptions& options) {
  std::vector<PassReport> reports;
  reports.push_back(remove_identities(graph));
  reports.push_back(remove_dead_nodes(graph));
  // BN folding first: Conv -> BN -> Relu becomes Conv -> Relu, which then fuses.
  if (options.fold_batch_norms) reports.push_back(fold_batch_norms(graph));
  if (options.fuse_activations) reports.push_back(fuse_activations(graph));
  // Layout last: fused activations no longer stand between the transposes.
  if (options.channels_last && OpRegistry::instance().find("Transpose")) {
    reports.push_back(convert_to_channels_last(graph));
    reports.push_back(optimize_transposes(graph));
  }
  graph.compact();
  // Re-infer as a check of the shapes the passes set, and to fold constants they made.
  bool all_registered = true;
  for (const Node& n : graph.nodes)
    if (!OpRegistry::instance().find(n.op_type)) all_registered = false;
  if (all_registered) infer_shapes_and_fold(graph);
  return reports;
}

}  // namespace octet
