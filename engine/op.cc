#include "engine/op.h"

#include <algorithm>
#include <cstring>


namespace octet {

int64_t TensorRef::numel() const { return checked_numel(dims); }

InferContext::InferContext(const Graph& graph, const Node& node, std::vector<TensorInfo*> outputs)
    : graph_(graph), node_(node), outputs_(std::move(outputs)) {}

const TensorInfo& InferContext::input(size_t i) const {
  if (!has_input(i)) fail("input ", i, " is required");
  return graph_.tensor(node_.inputs[i]);
}

Dims InferContext::input_dims(size_t i) const {
  const TensorInfo& t = input(i);
  if (!t.shape.is_concrete())
    fail("shape of input '", t.name, "' is not known (", t.shape.to_string(),
         "); fix symbolic input dimensions with --shape");
  return t.shape.concrete();
}

std::vector<int64_t> InferContext::constant_ints(size_t i) const {
  const TensorInfo& t = input(i);
  if (!t.is_constant())
    fail("input '", t.name, "' must be a constant (its values decide output shapes)");
  int64_t n = checked_numel(input_dims(i));
  std::vector<int64_t> out(static_cast<size_t>(n));
  if (t.dtype == DType::kI64) {
    if (t.data->size() < n * sizeof(int64_t)) fail("constant '", t.name, "' is truncated");
    if (n) std::memcpy(out.data(), t.data->data(), n * sizeof(int64_t));
  } else if (t.dtype == DType::kI32) {
    if (t.data->size() < n * sizeof(int32_t)) fail("constant '", t.name, "' is truncated");
    const int32_t* p = t.data->as<int32_t>();
    for (int64_t k = 0; k < n; ++k) out[k] = p[k];
  } else {
    fail("input '", t.name, "' must be int64 or int32, not ", dtype_name(t.dtype));
  }
  return out;
}

std::vector<float> InferContext::constant_floats(size_t i) const {
  const TensorInfo& t = input(i);
  if (!t.is_constant()) fail("input '", t.name, "' must be a constant");
  int64_t n = checked_numel(input_dims(i));
  std::vector<float> out(static_cast<size_t>(n));
  if (t.dtype == DType::kF32) {
    if (t.data->size() < n * sizeof(float)) fail("constant '", t.name, "' is truncated");
    if (n) std::memcpy(out.data(), t.data->data(), n * sizeof(float));
  } else if (t.dtype == DType::kF64) {
    const double* p = t.data->as<double>();
    for (int64_t k = 0; k < n; ++k) out[k] = static_cast<float>(p[k]);
  } else if (t.dtype == DType::kI64 || t.dtype == DType::kI32) {
    auto ints = constant_ints(i);
    for (int64_t k = 0; k < n; ++k) out[k] = static_cast<float>(ints[k]);
  } else {
    fail("input '", t.name, "' must be a float constant, not ", dtype_name(t.dtype));
  }
  return out;
}

void InferContext::set_output(size_t i, DType dtype, const Dims& dims) {
  if (i >= outputs_.size() || !outputs_[i]) return;  // omitted optional output
  for (int64_t d : dims)
    if (d < 0) fail("computed a negative dimension for output ", i, ": ", dims_to_string(dims));
  try {
    checked_numel(dims);  // a shape the engine cannot represent is refused here
  } catch (const Error& e) {
    fail("output ", i, ": ", e.what());
  }
  outputs_[i]->dtype = dtype;
  outputs_[i]->shape = Shape::of(dims);
}

const OpSchema* OpRegistry::find(std::string_view op_type) const {
  for (const OpSchema& s : schemas_)
    if (s.name == op_type) return &s;
  return nullptr;
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> out;
  for (const OpSchema& s : schemas_) out.push_back(s.name);
  std::sort(out.begin(), out.end());
  return out;
}

void OpRegistry::add(OpSchema schema) {
  if (find(schema.name)) fail("op '", schema.name, "' is registered twice");
  schemas_.push_back(std::move(schema));
}

const OpSchema* find_op(std::string_view op_type) { return OpRegistry::instance().find(op_type); }

LayoutClass layout_class(std::string_view op_type) {
  const OpSchema* s = find_op(op_type);
  return s ? s->layout : LayoutClass::kSensitive;
}

bool preserves_encoding(std::string_view op_type) {
  const OpSchema* s = find_op(op_type);
  return s && s->preserves_encoding();
}

const ParamSlots& param_slots(std::string_view op_type) {
  static const ParamSlots none;
  const OpSchema* s = find_op(op_type);
  return s ? s->params : none;
}

}  // namespace octet
