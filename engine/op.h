// The contract between the engine and an op: shape inference and kernel preparation.
// Each op binding (engine/ops/) turns a Node's attributes into a kernel's plain
// parameters; kernels themselves (kernels/) never see a Node or a Graph.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/error.h"
#include "engine/execution_mode.h"
#include "engine/graph.h"

namespace octet {

// A tensor as a kernel sees it at run time.
struct TensorRef {
  DType dtype = DType::kUndefined;
  Dims dims;
  void* data = nullptr;

  int64_t numel() const;
  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(std::span<const TensorRef> inputs, std::span<TensorRef> outputs) = 0;
  // Which implementation was chosen, e.g. "conv2d_nhwc_f32_hwy"; shown by `octet info`.
  virtual std::string_view impl_name() const { return "default"; }
};

// Shape and dtype inference for one node; shapes are concrete here.
class InferContext {
 public:
  InferContext(const Graph& graph, const Node& node, std::vector<TensorInfo*> outputs);

  const Node& node() const { return node_; }
  const Graph& graph() const { return graph_; }
  const Attributes& attrs() const { return node_.attrs; }
  int64_t opset() const { return graph_.opset; }
  size_t num_inputs() const { return node_.inputs.size(); }
  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_input(size_t i) const { return node_.has_input(i); }
  const TensorInfo& input(size_t i) const;
  DType input_dtype(size_t i) const { return input(i).dtype; }
  Dims input_dims(size_t i) const;
  bool input_is_constant(size_t i) const { return has_input(i) && input(i).is_constant(); }
  // Values of a constant integer (i32/i64) input; throws naming the node if not constant.
  std::vector<int64_t> constant_ints(size_t i) const;
  std::vector<float> constant_floats(size_t i) const;
  void set_output(size_t i, DType dtype, const Dims& dims);

  // Throws octet::Error prefixed with the node's name and op.
  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    ::octet::fail(node_.op_type, " node '", node_.name, "': ", parts...);
  }

 private:
  const Graph& graph_;
  const Node& node_;
  std::vector<TensorInfo*> outputs_;
};

#define OCTET_NODE_CHECK(ctx, cond, ...) \
  do {                                   \
    if (!(cond)) (ctx).fail(__VA_ARGS__); \
  } while (0)

struct PrepareContext {
  const Graph& graph;
  const Node& node;
  int threads = 1;
  bool reference = false;  // use the plain reference kernels (for tests)
  // kInt: integer ops pick their optimized kernels; kExact: the simulation that gives the
  // same bits (float kernels on integer-valued data, or the reference integer kernels).
  ExecutionMode mode = ExecutionMode::kFloat;

  const TensorInfo& input(size_t i) const { return graph.tensor(node.inputs.at(i)); }
  const TensorInfo& output(size_t i) const { return graph.tensor(node.outputs.at(i)); }
  bool has_input(size_t i) const { return node.has_input(i); }
  Dims input_dims(size_t i) const { return input(i).shape.concrete(); }
  Dims output_dims(size_t i) const { return output(i).shape.concrete(); }
};

struct OpSchema {
  std::string name;  // ONNX op_type, or "octet.*" for octet's own ops
  int min_inputs = 1, max_inputs = 1;
  int min_outputs = 1, max_outputs = 1;
  void (*infer)(InferContext&) = nullptr;
  std::unique_ptr<Kernel> (*prepare)(const PrepareContext&) = nullptr;
  // The output is input 0 reinterpreted (Reshape, Flatten, Squeeze...): no copy needed.
  bool output_aliases_input0 = false;
  // The outputs depend only on the input shapes (Shape): folded to constants at shape
  // inference even when the inputs are not constant; the kernel gets null input data.
  bool depends_on_shapes_only = false;
};

class OpRegistry {
 public:
  static const OpRegistry& instance();
  const OpSchema* find(std::string_view op_type) const;
  std::vector<std::string> names() const;
  void add(OpSchema schema);

 private:
  std::vector<OpSchema> schemas_;
};

}  // namespace octet
