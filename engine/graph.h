// The IR: one Graph serves every stage (float, quantized, lowered integer).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/attributes.h"
#include "engine/buffer.h"
#include "base/dtype.h"
#include "engine/shape.h"

namespace octet {

// Quantization parameters of a tensor (real = scale * (q - zero_point)).
struct QuantParams {
  std::vector<float> scale;       // one per tensor, per channel or per block
  std::vector<int32_t> zero_point;
  int32_t axis = -1;              // channel axis when per-channel, -1 per-tensor
  int32_t bitwidth = 8;
  bool symmetric = false;
  int32_t block_size = 0;         // > 0: per-block along the reduction axis
  // AIMET's strict symmetric grid: zero point 2^(b-1) - 1 and codes 0 .. 2^b - 2, i.e. the
  // signed range [-(2^(b-1) - 1), 2^(b-1) - 1]. Needs `symmetric`.
  bool strict = false;
  bool empty() const { return scale.empty(); }
  // The grid: real = scale * (code - zero_point) for codes in [qmin(), qmax()] (the
  // unsigned domain of a float tensor's encoding).
  int64_t qmin() const { return 0; }
  int64_t qmax() const { return (int64_t{1} << bitwidth) - 1 - (strict ? 1 : 0); }
  // The zero point of a signed strict grid of `bits` bits: 2^(bits-1) - 1 (bits in 2..32).
  static int64_t strict_zero_point(int bits) { return (int64_t{1} << (bits - 1)) - 1; }
};

// Throws octet::Error (prefixed by `what`) unless `q` is consistent in itself and with a tensor
// of `shape`: as many zero points as scales, finite scales, bitwidth 1..32, and as many scales
// as the layout needs wherever the shape is known: 1 without an axis (or as a per-tensor
// value with one); dims[axis] per channel; outer * ceil(dims[axis] / block) * inner per block;
// a strict grid symmetric with every zero point 2^(b-1) - 1. Readers of outside data call it
// on what they read, so that users may index scale and zero_point by that layout without
// further checks.
void check_quant_params(const QuantParams& q, const Shape& shape, const std::string& what);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;
  BufferPtr data;  // non-null: a constant (initializer or folded value)
  QuantParams quant;

  bool is_constant() const { return data != nullptr; }
};

using TensorId = int32_t;
constexpr TensorId kNoTensor = -1;  // an omitted optional input

struct Node {
  std::string name;
  std::string op_type;  // ONNX op name, or an octet op name
  std::vector<TensorId> inputs;
  std::vector<TensorId> outputs;
  Attributes attrs;

  TensorId input(size_t i) const { return i < inputs.size() ? inputs[i] : kNoTensor; }
  bool has_input(size_t i) const { return input(i) != kNoTensor; }
};

class Graph {
 public:
  std::string name;
  std::vector<TensorInfo> tensors;
  std::vector<Node> nodes;  // kept in topological order by topo_sort()
  std::vector<TensorId> inputs;
  std::vector<TensorId> outputs;
  int64_t opset = 0;

  TensorId add_tensor(TensorInfo t);
  // A new tensor whose name starts with `base` and is unique in the graph.
  TensorId add_unique_tensor(const std::string& base, DType dtype);
  TensorId add_constant(const std::string& name, DType dtype, const Dims& dims, BufferPtr data);
  // Name lookups read an index kept up to date by add_tensor, rename_tensor, compact and
  // reindex: they never modify the graph, so threads may look up names in one graph at once.
  std::optional<TensorId> find_tensor(const std::string& name) const;
  // Renames a tensor; assigning TensorInfo::name directly would leave the index stale.
  void rename_tensor(TensorId id, std::string name);
  // Rebuilds the index after `tensors` was replaced or edited wholesale.
  void reindex();
  TensorId require_tensor(const std::string& name) const;

  TensorInfo& tensor(TensorId id) { return tensors.at(static_cast<size_t>(id)); }
  const TensorInfo& tensor(TensorId id) const { return tensors.at(static_cast<size_t>(id)); }

  // Orders nodes so every input is produced before use; throws on cycles or on a
  // tensor that is neither produced, a constant nor a graph input.
  void topo_sort();
  // Index of the node producing each tensor (-1: graph input or constant).
  std::vector<int32_t> producers() const;
  // Number of node inputs plus graph outputs reading each tensor.
  std::vector<int32_t> use_counts() const;
  // Replaces every use of `from` (node inputs and graph outputs) with `to`.
  void replace_uses(TensorId from, TensorId to);
  // Drops tensors no node or graph input/output refers to; renumbers ids.
  void compact();
  bool is_graph_output(TensorId id) const;
  bool is_graph_input(TensorId id) const;

 private:
  // Each name to the first tensor holding it.
  std::unordered_map<std::string, TensorId> name_index_;
};

}  // namespace octet
