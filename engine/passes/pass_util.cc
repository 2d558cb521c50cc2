#include "engine/passes/pass_util.h"

#include <cstring>
#include <unordered_set>

#include "base/error.h"

namespace octet::passes {

Namer::Namer(const Graph& graph) {
  for (const TensorInfo& t : graph.tensors) tensors_.insert(t.name);
  for (const Node& n : graph.nodes) nodes_.insert(n.name);
}

std::string Namer::take(std::unordered_set<std::string>& used, const std::string& base) {
  std::string name = base;
  for (int i = 1; used.count(name); ++i) name = base + "_" + std::to_string(i);
  used.insert(name);
  return name;
}

std::string Namer::tensor(const std::string& base) { return take(tensors_, base); }
std::string Namer::node(const std::string& base) { return take(nodes_, base); }

TensorId new_tensor(Graph& graph, Namer& names, const std::string& base, DType dtype) {
  TensorInfo t;
  t.name = names.tensor(base);
  t.dtype = dtype;
  return graph.add_tensor(std::move(t));
}

std::vector<std::vector<Use>> consumers_of(const Graph& graph) {
  std::vector<std::vector<Use>> uses(graph.tensors.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    for (size_t s = 0; s < node.inputs.size(); ++s)
      if (node.inputs[s] != kNoTensor)
        uses.at(node.inputs[s]).push_back({static_cast<int32_t>(n), static_cast<int32_t>(s)});
  }
  return uses;
}

std::optional<std::vector<float>> constant_f32(const Graph& graph, TensorId id) {
  if (id == kNoTensor) return std::nullopt;
  const TensorInfo& t = graph.tensor(id);
  if (!t.is_constant() || t.dtype != DType::kF32 || !t.shape.is_concrete()) return std::nullopt;
  int64_t n = checked_numel(t.shape.concrete());
  if (t.data->size() < static_cast<size_t>(n) * sizeof(float)) return std::nullopt;
  std::vector<float> v(static_cast<size_t>(n));
  if (n) std::memcpy(v.data(), t.data->data(), v.size() * sizeof(float));
  return v;
}

TensorId add_f32_constant(Graph& graph, Namer& names, const std::string& base,
                          const Dims& dims, const std::vector<float>& values) {
  OCTET_CHECK(checked_numel(dims) == static_cast<int64_t>(values.size()),
              "internal: constant '", base, "' has ", values.size(), " values for shape ",
              dims_to_string(dims));
  TensorId id = new_tensor(graph, names, base, DType::kF32);
  TensorInfo& t = graph.tensor(id);
  t.shape = Shape::of(dims);
  t.data = Buffer::copy_of(values.data(), values.size() * sizeof(float));
  return id;
}

Dims permute_dims(const Dims& dims, const std::vector<int64_t>& perm) {
  Dims out(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) out[k] = dims.at(static_cast<size_t>(perm[k]));
  return out;
}

std::vector<int64_t> inverse_perm(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) inv.at(static_cast<size_t>(perm[k])) = static_cast<int64_t>(k);
  return inv;
}

std::vector<int64_t> compose_perms(const std::vector<int64_t>& first,
                                   const std::vector<int64_t>& second) {
  // y1[i] = x[first[i]], y2[j] = y1[second[j]] = x[first[second[j]]].
  std::vector<int64_t> out(second.size());
  for (size_t j = 0; j < second.size(); ++j) out[j] = first.at(static_cast<size_t>(second[j]));
  return out;
}

bool is_identity_perm(const std::vector<int64_t>& perm) {
  for (size_t k = 0; k < perm.size(); ++k)
    if (perm[k] != static_cast<int64_t>(k)) return false;
  return true;
}

bool is_valid_perm(const std::vector<int64_t>& perm, size_t rank) {
  if (perm.size() != rank) return false;
  std::vector<char> seen(rank, 0);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p]) return false;
    seen[p] = 1;
  }
  return true;
}

TensorId transpose_constant(Graph& graph, Namer& names, TensorId constant,
                            const std::vector<int64_t>& perm) {
  const TensorInfo& src = graph.tensor(constant);
  OCTET_CHECK(src.is_constant() && src.shape.is_concrete(), "internal: '", src.name,
              "' is not a constant");
  const size_t elem = dtype_size(src.dtype);
  OCTET_CHECK(elem > 0, "cannot transpose constant '", src.name, "' of type ",
              dtype_name(src.dtype));
  const Dims in_dims = src.shape.concrete();
  const size_t rank = in_dims.size();
  OCTET_CHECK(is_valid_perm(perm, rank), "internal: bad perm for '", src.name, "'");
  const Dims out_dims = permute_dims(in_dims, perm);
  const int64_t n = checked_numel(in_dims);
  OCTET_CHECK(src.data->size() >= static_cast<size_t>(n) * elem, "constant '", src.name,
              "' is truncated");
  std::vector<int64_t> in_strides(rank, 1);
  for (size_t k = rank; k-- > 1;) in_strides[k - 1] = in_strides[k] * in_dims[k];
  std::vector<std::byte> bytes(static_cast<size_t>(n) * elem);
  std::vector<int64_t> idx(rank, 0);  // index into the output
  const std::byte* from = src.data->data();
  for (int64_t o = 0; o < n; ++o) {
    int64_t off = 0;
    for (size_t k = 0; k < rank; ++k) off += idx[k] * in_strides[static_cast<size_t>(perm[k])];
    std::memcpy(bytes.data() + o * elem, from + off * elem, elem);
    for (size_t k = rank; k-- > 0;) {
      if (++idx[k] < out_dims[k]) break;
      idx[k] = 0;
    }
  }
  const std::string base = src.name + "_t";
  const DType dtype = src.dtype;
  TensorId id = new_tensor(graph, names, base, dtype);  // may invalidate `src`
  TensorInfo& t = graph.tensor(id);
  t.shape = Shape::of(out_dims);
  t.data = Buffer::from_vector(std::move(bytes));
  return id;
}

TensorId add_transpose(Graph& graph, Namer& names, TensorId input,
                       const std::vector<int64_t>& perm, const std::string& node_name,
                       TensorId output) {
  const DType dtype = graph.tensor(input).dtype;
  const Dims in_dims = graph.tensor(input).shape.concrete();
  OCTET_CHECK(is_valid_perm(perm, in_dims.size()), "internal: bad perm for a Transpose of '",
              graph.tensor(input).name, "'");
  if (output == kNoTensor) output = new_tensor(graph, names, graph.tensor(input).name + "_t", dtype);
  TensorInfo& t = graph.tensor(output);
  t.dtype = dtype;
  t.shape = Shape::of(permute_dims(in_dims, perm));
  Node n;
  n.name = names.node(node_name);
  n.op_type = "Transpose";
  n.inputs = {input};
  n.outputs = {output};
  n.attrs.set("perm", perm);
  graph.nodes.push_back(std::move(n));
  return output;
}

void erase_nodes(Graph& graph, const std::vector<char>& remove) {
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    if (!(k < remove.size() && remove[k])) kept.push_back(std::move(graph.nodes[k]));
  graph.nodes = std::move(kept);
}

}  // namespace octet::passes
