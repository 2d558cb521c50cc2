#include "engine/graph.h"

#include <algorithm>
#include <queue>

#include "engine/error.h"

namespace octet {

TensorId Graph::add_tensor(TensorInfo t) {
  tensors.push_back(std::move(t));
  return static_cast<TensorId>(tensors.size() - 1);
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

void Graph::rebuild_name_index() const {
  name_index_.clear();
  for (size_t i = 0; i < tensors.size(); ++i)
    name_index_.emplace_back(tensors[i].name, static_cast<TensorId>(i));
  std::sort(name_index_.begin(), name_index_.end());
  indexed_count_ = tensors.size();
}

std::optional<TensorId> Graph::find_tensor(const std::string& name) const {
  // The index is rebuilt when tensors were added; names are not edited in place
  // without a rebuild in practice, so verify the hit.
  if (indexed_count_ != tensors.size()) rebuild_name_index();
  auto it = std::lower_bound(name_index_.begin(), name_index_.end(),
                             std::make_pair(name, TensorId{-1}));
  if (it != name_index_.end() && it->first == name &&
      static_cast<size_t>(it->second) < tensors.size() && tensors[it->second].name == name)
    return it->second;
  // Fallback for renamed tensors.
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) {
      indexed_count_ = 0;
      return static_cast<TensorId>(i);
    }
  return std::nullopt;
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
  indexed_count_ = 0;
}

}  // namespace octet
