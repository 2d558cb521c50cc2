#include "loaders/onnx_upgrade.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/buffer.h"
#include "engine/op.h"

namespace octet {
namespace {

TensorId add_constant_input(Graph& g, const Node& n, const std::string& what, DType dtype,
                            const Dims& dims, const void* bytes, size_t size) {
  const TensorId id = g.add_unique_tensor(n.name + "/" + what, dtype);
  g.tensor(id).shape = Shape::of(dims);
  g.tensor(id).data = Buffer::copy_of(bytes, size);
  return id;
}

TensorId int64s(Graph& g, const Node& n, const std::string& what, const std::vector<int64_t>& v) {
  return add_constant_input(g, n, what, DType::kI64, {int64_t(v.size())}, v.data(),
                            v.size() * sizeof(int64_t));
}

TensorId f32_scalar(Graph& g, const Node& n, const std::string& what, float v) {
  return add_constant_input(g, n, what, DType::kF32, {}, &v, sizeof v);
}

// Input i of n set to t, with omitted inputs before it.
void set_input(Node& n, size_t i, TensorId t) {
  if (n.inputs.size() <= i) n.inputs.resize(i + 1, kNoTensor);
  n.inputs[i] = t;
}

// An ints attribute that became input i (optional when the attribute may be absent).
void ints_attribute_to_input(Graph& g, Node& n, const std::string& attr, size_t i) {
  if (!n.attrs.has(attr)) return;
  const TensorId t = int64s(g, n, attr, n.attrs.get_ints(attr));
  n.attrs.erase(attr);
  set_input(n, i, t);
}

void require_f32_input(const Graph& g, const Node& n) {
  if (n.inputs.empty() || n.inputs[0] == kNoTensor || g.tensor(n.inputs[0]).dtype != DType::kF32)
    node_fail(n, "upgrading its form needs a float32 input");
}

void upgrade_batchnorm_9(Graph&, Node& n) {
  if (n.attrs.get_int("spatial", 1) != 1)
    node_fail(n, "spatial = 0 (per-element statistics) has no form at opset 9 or later");
  for (const char* a : {"spatial", "is_test", "consumed_inputs"}) n.attrs.erase(a);
}

void upgrade_clip_11(Graph& g, Node& n) {
  require_f32_input(g, n);
  const bool has_min = n.attrs.has("min"), has_max = n.attrs.has("max");
  n.inputs.resize(1);
  if (has_min) set_input(n, 1, f32_scalar(g, n, "min", n.attrs.get_float("min", 0.f)));
  if (has_max) set_input(n, 2, f32_scalar(g, n, "max", n.attrs.get_float("max", 0.f)));
  n.attrs.erase("min");
  n.attrs.erase("max");
}

void upgrade_dropout_12(Graph& g, Node& n) {
  if (n.attrs.has("ratio")) set_input(n, 1, f32_scalar(g, n, "ratio", n.attrs.get_float("ratio", 0.5f)));
  n.attrs.erase("ratio");
  n.attrs.erase("is_test");
}

void upgrade_pad_11(Graph& g, Node& n) {
  require_f32_input(g, n);
  if (!n.attrs.has("pads")) node_fail(n, "has no 'pads' attribute");
  const float value = n.attrs.get_float("value", 0.f);
  set_input(n, 1, int64s(g, n, "pads", n.attrs.get_ints("pads")));
  if (value != 0.f) set_input(n, 2, f32_scalar(g, n, "constant_value", value));
  n.attrs.erase("pads");
  n.attrs.erase("value");
}

void upgrade_slice_10(Graph& g, Node& n) {
  if (!n.attrs.has("starts") || !n.attrs.has("ends")) node_fail(n, "needs 'starts' and 'ends'");
  n.inputs.resize(1);
  ints_attribute_to_input(g, n, "starts", 1);
  ints_attribute_to_input(g, n, "ends", 2);
  ints_attribute_to_input(g, n, "axes", 3);
}

void upgrade_axes_to_input(Graph& g, Node& n) {  // Squeeze, Unsqueeze, Reduce*
  n.inputs.resize(1);
  ints_attribute_to_input(g, n, "axes", 1);
}

void upgrade_split_13(Graph& g, Node& n) {
  n.inputs.resize(1);
  ints_attribute_to_input(g, n, "split", 1);
}

// Split-18 without a 'split' input must say how many outputs it has.
void upgrade_split_18(Graph&, Node& n) {
  if (!n.has_input(1)) n.attrs.set("num_outputs", int64_t(n.outputs.size()));
}

void upgrade_topk_10(Graph& g, Node& n) {
  if (!n.attrs.has("k")) node_fail(n, "has no 'k' attribute");
  set_input(n, 1, int64s(g, n, "k", {n.attrs.get_int("k", 0)}));
  n.attrs.erase("k");
}

// Upsample (deprecated at 10) is Resize-10 with the same inputs; Upsample-7 held its scales
// as an attribute.
void upgrade_upsample_10(Graph& g, Node& n) {
  if (n.attrs.has("scales")) {
    const std::vector<float> s = n.attrs.get_floats("scales");
    set_input(n, 1, add_constant_input(g, n, "scales", DType::kF32, {int64_t(s.size())}, s.data(),
                                       s.size() * sizeof(float)));
    n.attrs.erase("scales");
  }
  if (n.attrs.get_string("mode", "nearest") == "bilinear") n.attrs.set("mode", std::string("linear"));
  n.op_type = "Resize";
}

// Resize-10 maps output to input coordinates as x / scale ("asymmetric") and, in nearest mode,
// takes the floor when an axis is upsampled and the ceiling when it is downsampled (ONNX
// Runtime's rule, and octet's). Resize-11 names both; one nearest_mode serves all axes, so the
// node may not do both (an axis with scale 1 reads whole coordinates: either rule).
void upgrade_resize_11(Graph& g, Node& n) {
  if (n.attrs.get_string("mode", "nearest") == "nearest") {
    const TensorId s = n.input(1);
    if (s == kNoTensor || !g.tensor(s).is_constant() || g.tensor(s).dtype != DType::kF32)
      node_fail(n, "upgrading a nearest-mode Resize-10 needs constant float scales");
    const TensorInfo& t = g.tensor(s);
    const int64_t count = checked_numel(t.shape.concrete());
    const float* v = t.data->as<float>();
    const bool up = std::any_of(v, v + count, [](float x) { return x > 1.f; });
    const bool down = std::any_of(v, v + count, [](float x) { return x < 1.f; });
    if (up && down)
      node_fail(n, "a nearest-mode Resize-10 that both up- and downsamples has no Resize-11 form");
    n.attrs.set("nearest_mode", std::string(down ? "ceil" : "floor"));
  }
  n.attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
  const TensorId scales = n.input(1);
  n.inputs = {n.inputs[0], kNoTensor, scales};
}

// Before 13, Softmax, LogSoftmax and Hardmax coerce the input to 2-D at `axis` (default 1) and
// normalize each row; from 13 they normalize along `axis` (default -1). The same when `axis` is
// the last one; otherwise Flatten -> op(axis 1) -> Reshape back to the input's shape.
void upgrade_softmax_13(Graph& g, Node& n) {
  const TensorId x = n.input(0);
  const size_t rank = x == kNoTensor ? 0 : g.tensor(x).shape.rank();
  if (rank == 0) node_fail(n, "upgrading its form needs the input's rank");
  int64_t axis = n.attrs.get_int("axis", 1);
  if (axis < -int64_t(rank) || axis >= int64_t(rank))
    node_fail(n, "axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += int64_t(rank);
  if (axis == int64_t(rank) - 1) {
    n.attrs.set("axis", int64_t(-1));
    return;
  }
  const TensorId y = n.outputs.at(0);
  const TensorId shape = g.add_unique_tensor(n.name + "/input_shape", DType::kI64);
  const TensorId flat = g.add_unique_tensor(n.name + "/rows", g.tensor(x).dtype);
  const TensorId normalized = g.add_unique_tensor(n.name + "/normalized_rows", g.tensor(y).dtype);
  Node shape_node, flatten, reshape;
  shape_node.name = n.name + "/Shape";
  shape_node.op_type = "Shape";
  shape_node.inputs = {x};
  shape_node.outputs = {shape};
  flatten.name = n.name + "/Flatten";
  flatten.op_type = "Flatten";
  flatten.attrs.set("axis", axis);
  flatten.inputs = {x};
  flatten.outputs = {flat};
  reshape.name = n.name + "/Reshape";
  reshape.op_type = "Reshape";
  reshape.inputs = {normalized, shape};
  reshape.outputs = {y};
  n.attrs.set("axis", int64_t(1));
  n.inputs = {flat};
  n.outputs = {normalized};
  g.nodes.push_back(std::move(shape_node));
  g.nodes.push_back(std::move(flatten));
  g.nodes.push_back(std::move(reshape));
}

struct FormChange {
  const char* op;
  int64_t opset;
  void (*upgrade)(Graph& g, Node& n);  // n: a copy of the node, stored back after
};

// From ONNX's Changelog.md: the versions that moved attributes to inputs or changed semantics,
// in opset order (a node may take several, and Upsample becomes a Resize before Resize-11).
constexpr FormChange kChanges[] = {
    {"BatchNormalization", 9, upgrade_batchnorm_9},
    {"Slice", 10, upgrade_slice_10},
    {"TopK", 10, upgrade_topk_10},
    {"Upsample", 10, upgrade_upsample_10},
    {"Clip", 11, upgrade_clip_11},
    {"Pad", 11, upgrade_pad_11},
    {"Resize", 11, upgrade_resize_11},
    {"Dropout", 12, upgrade_dropout_12},
    {"Hardmax", 13, upgrade_softmax_13},
    {"LogSoftmax", 13, upgrade_softmax_13},
    {"Softmax", 13, upgrade_softmax_13},
    {"ReduceSum", 13, upgrade_axes_to_input},
    {"Split", 13, upgrade_split_13},
    {"Squeeze", 13, upgrade_axes_to_input},
    {"Unsqueeze", 13, upgrade_axes_to_input},
    {"ReduceL1", 18, upgrade_axes_to_input},
    {"ReduceL2", 18, upgrade_axes_to_input},
    {"ReduceLogSum", 18, upgrade_axes_to_input},
    {"ReduceLogSumExp", 18, upgrade_axes_to_input},
    {"ReduceMax", 18, upgrade_axes_to_input},
    {"ReduceMean", 18, upgrade_axes_to_input},
    {"ReduceMin", 18, upgrade_axes_to_input},
    {"ReduceProd", 18, upgrade_axes_to_input},
    {"ReduceSumSquare", 18, upgrade_axes_to_input},
    {"Split", 18, upgrade_split_18},
};

}  // namespace

int64_t onnx_op_form_change(const std::string& op, int64_t from, int64_t to) {
  for (const FormChange& c : kChanges)
    if (op == c.op && from < c.opset && c.opset <= to) return c.opset;
  return 0;
}

void upgrade_op_forms(Graph& g, int64_t to) {
  if (to <= g.opset) return;
  const size_t count = g.nodes.size();  // nodes a rewrite adds are already in the new form
  for (size_t i = 0; i < count; ++i)
    for (const FormChange& c : kChanges)
      if (g.nodes[i].op_type == c.op && g.opset < c.opset && c.opset <= to) {
        Node n = g.nodes[i];
        c.upgrade(g, n);
        g.nodes[i] = std::move(n);
      }
  g.opset = to;
}

}  // namespace octet
