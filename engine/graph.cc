#include "engine/graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

#include "base/error.h"

namespace octet {

void check_quant_params(const QuantParams& q, const Shape& shape, const std::string& what) {
  if (q.scale.empty()) {
    OCTET_CHECK(q.zero_point.empty(), what, ": ", q.zero_point.size(), " zero points without a scale");
    return;
  }
  OCTET_CHECK(q.zero_point.size() == q.scale.size(), what, ": ", q.zero_point.size(),
              " zero points for ", q.scale.size(), " scales");
  for (float s : q.scale) OCTET_CHECK(std::isfinite(s), what, ": scale ", s, " is not finite");
  OCTET_CHECK(q.bitwidth >= 1 && q.bitwidth <= 32, what, ": bitwidth ", q.bitwidth,
              " is not in 1..32");
  OCTET_CHECK(q.block_size >= 0, what, ": block size ", q.block_size, " is negative");
  OCTET_CHECK(q.axis >= -1, what, ": axis ", q.axis, " is negative");
  if (q.strict) {
    // Signed (zero point 2^(b-1) - 1) or unsigned (0, AIMET's unsigned symmetric).
    OCTET_CHECK(q.symmetric && q.bitwidth >= 2, what, ": a strict grid that is not symmetric");
    const int64_t strict_zero = QuantParams::strict_zero_point(q.bitwidth);
    for (int32_t z : q.zero_point)
      OCTET_CHECK(z == strict_zero || z == 0, what, ": zero point ", z, " on a strict ",
                  q.bitwidth, "-bit grid (needs ", strict_zero, ", or 0 unsigned)");
  }
  if (q.axis < 0) {
    OCTET_CHECK(q.scale.size() == 1, what, ": ", q.scale.size(), " scales without an axis");
    return;
  }
  if (!shape.has_rank) return;
  OCTET_CHECK(size_t(q.axis) < shape.rank(), what, ": axis ", q.axis, " for shape ",
              shape.to_string());
  if (!shape.is_concrete() || (q.scale.size() == 1 && q.block_size == 0)) return;
  const Dims dims = shape.concrete();
  const auto axis = size_t(q.axis);
  int64_t expected = dims[axis];
  if (q.block_size > 0) {
    const int64_t blocks = (dims[axis] + q.block_size - 1) / q.block_size;
    expected = checked_mul(checked_numel(std::span(dims).first(axis)),
                           checked_mul(blocks, checked_numel(std::span(dims).subspan(axis + 1))));
  }
  OCTET_CHECK(int64_t(q.scale.size()) == expected, what, ": ", q.scale.size(),
              " scales, but ", q.block_size ? "blocks of " + std::to_string(q.block_size) + " along" : "channels of",
              " axis ", q.axis, " of shape ", shape.to_string(), " need ", expected);
}

TensorId Graph::add_tensor(TensorInfo t) {
  const auto id = static_cast<TensorId>(tensors.size());
  OCTET_CHECK(tensors.size() < size_t(std::numeric_limits<TensorId>::max()),
              "more than 2^31 tensors in graph '", name, "'");
  name_index_.emplace(t.name, id);
  tensors.push_back(std::move(t));
  return id;
}

TensorId Graph::add_unique_tensor(const std::string& base, DType dtype) {
  std::string name = base;
  for (int i = 1; find_tensor(name); ++i) name = base + "_" + std::to_string(i);
  TensorInfo t;
  t.name = name;
  t.dtype = dtype;
  return add_tensor(std::move(t));
}

TensorId Graph::add_constant(const std::string& name, DType dtype, const Dims& dims,
                             BufferPtr data) {
  TensorInfo t;
  t.name = name;
  t.dtype = dtype;
  t.shape = Shape::of(dims);
  OCTET_CHECK(data && data->size() >= dtype_storage_bytes(dtype, checked_numel(dims)),
              "constant '", name, "' has ", data ? data->size() : 0, " bytes, shape ",
              dims_to_string(dims), " needs ", dtype_storage_bytes(dtype, checked_numel(dims)));
  t.data = std::move(data);
  return add_tensor(std::move(t));
}

void Graph::reindex() {
  name_index_.clear();
  name_index_.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i)
    name_index_.emplace(tensors[i].name, static_cast<TensorId>(i));
}

void Graph::rename_tensor(TensorId id, std::string new_name) {
  TensorInfo& t = tensor(id);
  auto old = name_index_.find(t.name);
  if (old != name_index_.end() && old->second == id) name_index_.erase(old);
  t.name = std::move(new_name);
  auto [it, inserted] = name_index_.emplace(t.name, id);
  if (!inserted && tensor(it->second).name != t.name) it->second = id;
}

std::optional<TensorId> Graph::find_tensor(const std::string& name) const {
  auto it = name_index_.find(name);
  if (it == name_index_.end()) return std::nullopt;
  const TensorId id = it->second;
  OCTET_CHECK(static_cast<size_t>(id) < tensors.size() && tensors[size_t(id)].name == name,
              "internal error: the name index of graph '", this->name, "' is stale at '", name,
              "' (a tensor was renamed or removed without Graph::rename_tensor / reindex)");
  return id;
}

TensorId Graph::require_tensor(const std::string& name) const {
  auto id = find_tensor(name);
  OCTET_CHECK(id, "no tensor named '", name, "' in the graph");
  return *id;
}

std::vector<int32_t> Graph::producers() const {
  std::vector<int32_t> p(tensors.size(), -1);
  for (size_t n = 0; n < nodes.size(); ++n)
    for (TensorId o : nodes[n].outputs)
      if (o != kNoTensor) p.at(o) = static_cast<int32_t>(n);
  return p;
}

std::vector<int32_t> Graph::use_counts() const {
  std::vector<int32_t> c(tensors.size(), 0);
  for (const Node& n : nodes)
    for (TensorId i : n.inputs)
      if (i != kNoTensor) c.at(i)++;
  for (TensorId o : outputs) c.at(o)++;
  return c;
}

bool Graph::is_graph_output(TensorId id) const {
  return std::find(outputs.begin(), outputs.end(), id) != outputs.end();
}

bool Graph::is_graph_input(TensorId id) const {
  return std::find(inputs.begin(), inputs.end(), id) != inputs.end();
}

void Graph::replace_uses(TensorId from, TensorId to) {
  for (Node& n : nodes)
    for (TensorId& i : n.inputs)
      if (i == from) i = to;
  for (TensorId& o : outputs)
    if (o == from) o = to;
}

void Graph::topo_sort() {
  const size_t count = nodes.size();
  std::vector<int32_t> producer(tensors.size(), -1);
  for (size_t n = 0; n < count; ++n)
    for (TensorId o : nodes[n].outputs) {
      if (o == kNoTensor) continue;
      OCTET_CHECK(o >= 0 && static_cast<size_t>(o) < tensors.size(), "node '", nodes[n].name,
                  "' has an invalid output id");
      OCTET_CHECK(producer[o] < 0, "tensor '", tensors[o].name, "' is produced by two nodes ('",
                  nodes[producer[o]].name, "' and '", nodes[n].name, "')");
      OCTET_CHECK(!tensors[o].is_constant(), "tensor '", tensors[o].name,
                  "' is both a constant and the output of node '", nodes[n].name, "'");
      producer[o] = static_cast<int32_t>(n);
    }
  std::vector<int32_t> pending(count, 0);
  std::vector<std::vector<int32_t>> consumers(count);
  for (size_t n = 0; n < count; ++n) {
    for (TensorId i : nodes[n].inputs) {
      if (i == kNoTensor) continue;
      OCTET_CHECK(i >= 0 && static_cast<size_t>(i) < tensors.size(), "node '", nodes[n].name,
                  "' has an invalid input id");
      if (producer[i] >= 0) {
        pending[n]++;
        consumers[producer[i]].push_back(static_cast<int32_t>(n));
      } else {
        OCTET_CHECK(tensors[i].is_constant() || is_graph_input(i), "input '", tensors[i].name,
                    "' of node '", nodes[n].name,
                    "' is not produced by any node, nor a constant or graph input");
      }
    }
  }
  // Kahn's algorithm, taking ready nodes in original order for stable results.
  std::priority_queue<int32_t, std::vector<int32_t>, std::greater<>> ready;
  for (size_t n = 0; n < count; ++n)
    if (pending[n] == 0) ready.push(static_cast<int32_t>(n));
  std::vector<Node> sorted;
  sorted.reserve(count);
  while (!ready.empty()) {
    int32_t n = ready.top();
    ready.pop();
    for (int32_t c : consumers[n])
      if (--pending[c] == 0) ready.push(c);
    sorted.push_back(std::move(nodes[n]));
  }
  if (sorted.size() != count) {
    for (size_t n = 0; n < count; ++n)
      if (pending[n] > 0) fail("the graph has a cycle through node '", nodes[n].name, "'");
  }
  nodes = std::move(sorted);
}

void Graph::compact() {
  std::vector<char> used(tensors.size(), 0);
  for (const Node& n : nodes) {
    for (TensorId i : n.inputs)
      if (i != kNoTensor) used.at(i) = 1;
    for (TensorId o : n.outputs)
      if (o != kNoTensor) used.at(o) = 1;
  }
  for (TensorId i : inputs) used.at(i) = 1;
  for (TensorId o : outputs) used.at(o) = 1;
  // Tensor-valued attributes (e.g. ConstantOfShape's value) are constants named by a
  // `_tensor:<attribute>` string attribute.
  for (const Node& n : nodes)
    for (const auto& [key, value] : n.attrs.all())
      if (key.starts_with("_tensor:"))
        if (auto id = find_tensor(n.attrs.get_string(key, ""))) used.at(*id) = 1;
  std::vector<TensorId> remap(tensors.size(), kNoTensor);
  std::vector<TensorInfo> kept;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (used[i]) {
      remap[i] = static_cast<TensorId>(kept.size());
      kept.push_back(std::move(tensors[i]));
    }
  tensors = std::move(kept);
  auto fix = [&](TensorId& id) {
    if (id != kNoTensor) id = remap.at(id);
  };
  for (Node& n : nodes) {
    for (TensorId& i : n.inputs) fix(i);
    for (TensorId& o : n.outputs) fix(o);
  }
  for (TensorId& i : inputs) fix(i);
  for (TensorId& o : outputs) fix(o);
  reindex();
}

}  // namespace octet
