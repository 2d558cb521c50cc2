#include "engine/thread_budget.h"

#include <algorithm>
#include <string_view>

namespace octet {
namespace {

int64_t numel_or_zero(const Graph& graph, TensorId id) {
  if (id == kNoTensor) return 0;
  const Shape& s = graph.tensor(id).shape;
  return s.is_concrete() ? checked_numel(s.concrete()) : 0;
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// Reduction length per output element of a convolution or matrix product; 0 for other ops.
int64_t reduction_length(const Graph& graph, const Node& node) {
  const std::string_view op = node.op_type;
  if (contains(op, "Conv")) {
    const TensorId w = node.input(op == "QLinearConv" ? 3 : 1);
    if (w == kNoTensor || !graph.tensor(w).shape.is_concrete()) return 0;
    const Dims d = graph.tensor(w).shape.concrete();
    if (d.empty() || d[0] <= 0) return 0;
    const int64_t per_filter = numel_or_zero(graph, w) / d[0];
    // ConvTranspose: every input element meets (M/g) * kh * kw weights.
    if (contains(op, "ConvTranspose")) {
      const int64_t in = numel_or_zero(graph, node.input(0));
      const int64_t out = std::max<int64_t>(1, numel_or_zero(graph, node.outputs[0]));
      return in * per_filter / out;
    }
    return per_filter;
  }
  if (contains(op, "MatMul") || contains(op, "Gemm")) {
    const TensorId a = node.input(0);
    if (a == kNoTensor || !graph.tensor(a).shape.is_concrete()) return 0;
    const Dims d = graph.tensor(a).shape.concrete();
    if (d.empty()) return 0;
    if (contains(op, "Gemm") && d.size() == 2 && node.attrs.get_int("transA", 0) != 0) return d[0];
    return d.back();
  }
  return 0;
}

}  // namespace

int64_t estimate_node_work(const Graph& graph, const Node& node) {
  int64_t out = 0, in = 0;
  for (TensorId id : node.outputs) out += numel_or_zero(graph, id);
  for (TensorId id : node.inputs) in += numel_or_zero(graph, id);
  const int64_t k = reduction_length(graph, node);
  return k > 0 ? out * k : in + out;
}

int threads_for_node(const Graph& graph, const Node& node, int max_threads) {
  if (max_threads <= 1) return 1;
  const int64_t work = estimate_node_work(graph, node);
  const int64_t useful = std::max<int64_t>(1, work / kMinWorkPerThread);
  return int(std::min<int64_t>(max_threads, useful));
}

}  // namespace octet
