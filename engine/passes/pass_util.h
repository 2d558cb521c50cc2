// Small helpers shared by the graph passes (internal to engine/passes/).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/graph.h"

namespace octet::passes {

// For each tensor, the (node index, input slot) pairs reading it.
struct Use {
  int32_t node;
  int32_t slot;
};
std::vector<std::vector<Use>> consumers_of(const Graph& graph);

// Hands out tensor and node names unused in the graph. Cheaper than
// Graph::add_unique_tensor when a pass makes many tensors; every tensor and node the
// pass adds must get its name here.
class Namer {
 public:
  explicit Namer(const Graph& graph);
  std::string tensor(const std::string& base);
  std::string node(const std::string& base);

 private:
  static std::string take(std::unordered_set<std::string>& used, const std::string& base);
  std::unordered_set<std::string> tensors_, nodes_;
};

// A new tensor (no data, unknown shape) with a unique name starting with `base`.
TensorId new_tensor(Graph& graph, Namer& names, const std::string& base, DType dtype);

// Values of a constant f32 tensor; nullopt when not a constant or not f32.
std::optional<std::vector<float>> constant_f32(const Graph& graph, TensorId id);

// Adds a new f32 constant named after `base` (made unique).
TensorId add_f32_constant(Graph& graph, Namer& names, const std::string& base, const Dims& dims,
                          const std::vector<float>& values);

// out.dims[k] = in.dims[perm[k]] (ONNX Transpose semantics).
Dims permute_dims(const Dims& dims, const std::vector<int64_t>& perm);
std::vector<int64_t> inverse_perm(const std::vector<int64_t>& perm);
// The perm of Transpose(Transpose(x, first), second).
std::vector<int64_t> compose_perms(const std::vector<int64_t>& first,
                                   const std::vector<int64_t>& second);
bool is_identity_perm(const std::vector<int64_t>& perm);
// True when `perm` is a permutation of 0..rank-1.
bool is_valid_perm(const std::vector<int64_t>& perm, size_t rank);

// A new constant holding Transpose(constant, perm); the source buffer is not modified.
TensorId transpose_constant(Graph& graph, Namer& names, TensorId constant,
                            const std::vector<int64_t>& perm);

// Appends Transpose(input, perm) -> output. When `output` is kNoTensor a new tensor is
// made. The output's dtype and shape are set. Returns the output id.
TensorId add_transpose(Graph& graph, Namer& names, TensorId input,
                       const std::vector<int64_t>& perm, const std::string& node_name,
                       TensorId output = kNoTensor);

// Erases the nodes whose flag is set, keeping the order of the others.
void erase_nodes(Graph& graph, const std::vector<char>& remove);

}  // namespace octet::passes
