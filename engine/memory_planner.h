// Assigns every run-time tensor an offset in one arena, reusing bytes of tensors whose
// lifetimes do not overlap.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/graph.h"

namespace octet {

struct MemoryPlan {
  static constexpr size_t kAlignment = 64;
  std::vector<int64_t> offset;  // per tensor id; -1: not in the arena (constant or unused)
  size_t arena_bytes = 0;       // peak: the arena size needed
  size_t naive_bytes = 0;       // what one buffer per tensor would take
};

// `aliases_input0[n]`: node n's output 0 shares input 0's storage (a view op).
MemoryPlan plan_memory(const Graph& graph, const std::vector<bool>& aliases_input0);

}  // namespace octet
