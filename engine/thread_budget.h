// How many threads one node may use. Waking a team of OpenMP threads costs microseconds
// (tens with OMP_WAIT_POLICY=passive); a node whose work is a few microseconds runs faster on
// one thread, so small nodes get fewer threads than the session allows.
#pragma once
#include <cstdint>

#include "engine/graph.h"

namespace octet {

// A rough single-thread cost of `node` in multiply-accumulate equivalents: for convolutions and
// matrix products, output elements times the reduction length; otherwise the elements read and
// written. Needs concrete shapes.
int64_t estimate_node_work(const Graph& graph, const Node& node);

// The number of threads (1..max_threads) that gives every thread at least kMinWorkPerThread.
inline constexpr int64_t kMinWorkPerThread = int64_t{1} << 20;
int threads_for_node(const Graph& graph, const Node& node, int max_threads);

}  // namespace octet
