#include "engine/memory_planner.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"

namespace octet {
namespace {

size_t align_up(size_t v) {
  return (v + MemoryPlan::kAlignment - 1) / MemoryPlan::kAlignment * MemoryPlan::kAlignment;
}

// Tensor sizes are at most 2^51 bytes (checked_numel); sums of them are kept below 2^62.
size_t checked_add(size_t a, size_t b) {
  constexpr size_t kMax = size_t(1) << 62;
  OCTET_CHECK(a <= kMax && b <= kMax - a, "the memory plan needs more than 2^62 bytes");
  return a + b;
}

struct Interval {
  int first = 0, last = 0;
  size_t bytes = 0;
  bool live = false;
};

}  // namespace

MemoryPlan plan_memory(const Graph& graph, const std::vector<bool>& aliases_input0) {
  const size_t count = graph.tensors.size();
  const int end = static_cast<int>(graph.nodes.size());
  // Views share their source's storage: map each tensor to the root it aliases.
  std::vector<TensorId> root(count);
  std::iota(root.begin(), root.end(), 0);
  auto find_root = [&](TensorId t) {
    while (root[t] != t) t = root[t];
    return t;
  };
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (n < aliases_input0.size() && aliases_input0[n] && node.has_input(0) &&
        !graph.tensor(node.inputs[0]).is_constant())
      root[node.outputs.at(0)] = find_root(node.inputs[0]);
  }

  std::vector<Interval> life(count);
  auto touch = [&](TensorId t, int step) {
    const TensorInfo& info = graph.tensor(t);
    if (info.is_constant()) return;
    Interval& iv = life[find_root(t)];
    size_t bytes = align_up(dtype_storage_bytes(info.dtype, checked_numel(info.shape.concrete())));
    if (!iv.live) {
      iv = {step, step, bytes, true};
    } else {
      iv.first = std::min(iv.first, step);
      iv.last = std::max(iv.last, step);
      iv.bytes = std::max(iv.bytes, bytes);
    }
  };
  for (TensorId t : graph.inputs) touch(t, -1);
  for (int n = 0; n < end; ++n) {
    for (TensorId t : graph.nodes[n].inputs)
      if (t != kNoTensor) touch(t, n);
    for (TensorId t : graph.nodes[n].outputs)
      if (t != kNoTensor) touch(t, n);
  }
  for (TensorId t : graph.outputs) touch(t, end);

  // Greedy by size: place the largest first at the lowest offset that fits beside every
  // already-placed buffer whose lifetime overlaps.
  std::vector<TensorId> order;
  for (size_t t = 0; t < count; ++t)
    if (life[t].live) order.push_back(static_cast<TensorId>(t));
  std::stable_sort(order.begin(), order.end(),
                   [&](TensorId a, TensorId b) { return life[a].bytes > life[b].bytes; });
  MemoryPlan plan;
  plan.offset.assign(count, -1);
  // Finding the placed buffers whose lifetimes overlap a new one: short-lived buffers are
  // listed at each step they live (step s at index s + 1: graph inputs live from -1), so a scan
  // costs the sum of the new lifetime's lists, not everything placed (which made planning
  // quadratic in the graph's length); long-lived ones (graph outputs live to the end) are kept
  // in one list and checked directly, as listing them per step made planning cubic in the
  // number of tensors live at once (10,000 graph outputs: minutes).
  constexpr int kShortLife = 64;
  std::vector<std::vector<TensorId>> placed_at(static_cast<size_t>(end) + 2);
  std::vector<TensorId> long_lived;
  std::vector<size_t> seen_stamp(count, 0);
  size_t stamp = 0;
  std::vector<std::pair<size_t, size_t>> busy;
  for (TensorId t : order) {
    const Interval& me = life[t];
    plan.naive_bytes = checked_add(plan.naive_bytes, me.bytes);
    busy.clear();
    ++stamp;
    auto consider = [&](TensorId p) {
      if (seen_stamp[size_t(p)] == stamp) return;
      seen_stamp[size_t(p)] = stamp;
      busy.emplace_back(static_cast<size_t>(plan.offset[p]), life[p].bytes);
    };
    for (int s = me.first; s <= me.last; ++s)
      for (TensorId p : placed_at[size_t(s + 1)]) consider(p);
    for (TensorId p : long_lived)
      if (life[p].first <= me.last && me.first <= life[p].last) consider(p);
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (auto [start, size] : busy) {
      if (checked_add(offset, me.bytes) <= start) break;
      offset = std::max(offset, checked_add(start, size));
    }
    plan.offset[t] = static_cast<int64_t>(offset);
    plan.arena_bytes = std::max(plan.arena_bytes, checked_add(offset, me.bytes));
    if (me.last - me.first < kShortLife) {
      for (int s = me.first; s <= me.last; ++s) placed_at[size_t(s + 1)].push_back(t);
    } else {
      long_lived.push_back(t);
    }
  }
  for (size_t t = 0; t < count; ++t) {
    TensorId r = find_root(static_cast<TensorId>(t));
    if (r != static_cast<TensorId>(t)) plan.offset[t] = plan.offset[r];
  }
  return plan;
}

}  // namespace octet
