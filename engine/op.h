// The contract between the engine and an op: shape inference and kernel preparation.
// Each op binding (engine/ops/) turns a Node's attributes into a kernel's plain
// parameters; kernels themselves (kernels/) never see a Node or a Graph.
#pragma once
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
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
// An error about one node: "OpType node 'name': ...parts".
template <typename... Parts>
[[noreturn]] void node_fail(const Node& node, const Parts&... parts) {
  ::octet::fail(node.op_type, " node '", node.name, "': ", parts...);
}

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
    node_fail(node_, parts...);
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

// How the layout pass (engine/passes/layout.cc) treats an op.
enum class LayoutClass : uint8_t {
  kSensitive,           // reads axes by meaning (Reshape, Flatten, Softmax...): the user's layout
  kNhwcIsland,          // runs channels-last between transposes (Conv, pools, BatchNormalization)
  kPointwiseUnary,      // one data input (0), any others scalars: transposes pass through
  kPointwiseBroadcast,  // inputs broadcast against each other: transposes pass through
  kAgnostic,            // Transpose, Concat: rewritten by the transpose optimizer itself
};

// What an op's outputs hold of input 0's quantized values (QuantSim places no quantizer on a
// preserving op's outputs; the integer lowering runs it on codes under input 0's encoding).
enum class EncodingClass : uint8_t {
  kOwn,          // a new value: the output gets its own encoding
  kSelects,      // a selection of input 0's values (MaxPool, Slice, Pad...): keeps its encoding
  kSelects16,    // as kSelects, and its kernel also moves 16-bit codes (Slice, Split...)
  kRearranges,   // exactly input 0's values, rearranged (Reshape, Transpose...): 16-bit codes
                 // too, and an encoding of the output may move back to the input
};

// Which inputs are parameters: a weight (with its output-channel axis) and a bias.
struct ParamSlots {
  int weight = -1;  // input index, -1 = none
  int bias = -1;
  // Output-channel axis of a weight of `rank` dimensions (per-channel quantization).
  int (*channel_axis)(const Node&, int rank) = nullptr;
  // Input-channel (reduction) axis of such a weight, -1 where the rank has none octet uses;
  // null: the op is no matrix product of its weight (ConvTranspose).
  int (*reduction_axis)(const Node&, int rank) = nullptr;
  // Input-channel axis of such a weight, the axis per-block encodings block along (AIMET's
  // block axis; ConvTranspose's too), -1 where the rank has none; null: no such axis.
  int (*input_channel_axis)(const Node&, int rank) = nullptr;
};

// A pointwise op's function on real values for one node (its attributes and constant inputs
// read), or an empty function when the node's inputs do not fix one. It is the reference
// kernel's: the integer lowering tabulates it (octet.QLookup).
using ScalarFn = std::function<float(float)>;

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

  // ---- traits read by the passes and quant/ -------------------------------------------------
  LayoutClass layout = LayoutClass::kSensitive;
  EncodingClass encoding = EncodingClass::kOwn;
  ParamSlots params{};
  ScalarFn (*scalar_fn)(const Graph&, const Node&) = nullptr;
  // Operations one run of the node takes (engine/operation_count.h); null: the generic
  // estimate there (weights from `params`, windows from `kernel_shape`, else elements moved).
  double (*operations)(const Graph&, const Node&) = nullptr;

  bool preserves_encoding() const { return encoding != EncodingClass::kOwn; }
  bool moves_codes16() const {
    return encoding == EncodingClass::kSelects16 || encoding == EncodingClass::kRearranges;
  }
};

class OpRegistry {
 public:
  static const OpRegistry& instance();
  const OpSchema* find(std::string_view op_type) const;
  const std::vector<OpSchema>& schemas() const { return schemas_; }
  std::vector<std::string> names() const;
  void add(OpSchema schema);

 private:
  std::vector<OpSchema> schemas_;
};

// Trait queries by op type; an unregistered op has the defaults (sensitive, own encoding, no
// parameters, no scalar function).
const OpSchema* find_op(std::string_view op_type);
LayoutClass layout_class(std::string_view op_type);
bool preserves_encoding(std::string_view op_type);
const ParamSlots& param_slots(std::string_view op_type);

}  // namespace octet
