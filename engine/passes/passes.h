// Graph passes: each is `Graph& -> report`; none reaches into a kernel.
#pragma once
#include <string>
#include <vector>

#include "engine/graph.h"

namespace octet {

struct PassReport {
  std::string pass;
  int changed = 0;              // nodes rewritten or removed
  std::vector<std::string> notes;  // what a user may want to know (e.g. a BN left unfolded)
};

// Nodes whose outputs nothing reads (transitively) are removed.
PassReport remove_dead_nodes(Graph& graph);
// Identity (and no-op Dropout/Cast-to-same-type) nodes are bypassed.
PassReport remove_identities(Graph& graph);

// The pipeline a Session runs after shape inference and constant folding.
std::vector<PassReport> run_optimization_passes(Graph& graph);

}  // namespace octet
