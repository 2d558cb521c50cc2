// ConstantOfShape: a tensor of the given shape filled with one value (default float 0).
#include <cstring>

#include "engine/op.h"
#include "engine/ops/op_groups.h"

namespace octet {
namespace {

constexpr int64_t kMaxElements = int64_t(1) << 32;

// The fill value: the loader keeps the `value` tensor attribute as a constant tensor
// named by the `_tensor:value` attribute.
struct FillValue {
  DType dtype = DType::kF32;
  std::vector<std::byte> bytes = std::vector<std::byte>(4);
};

FillValue fill_value(const Graph& graph, const Node& node) {
  FillValue v;
  std::string name = node.attrs.get_string("_tensor:value", "");
  if (name.empty()) return v;
  const TensorInfo& t = graph.tensor(graph.require_tensor(name));
  OCTET_CHECK(t.is_constant() && checked_numel(t.shape.concrete()) == 1 && dtype_size(t.dtype) > 0,
              "ConstantOfShape node '", node.name, "': 'value' must hold exactly one element");
  v.dtype = t.dtype;
  v.bytes.assign(t.data->data(), t.data->data() + dtype_size(t.dtype));
  return v;
}

void infer(InferContext& ctx) {
  Dims dims = ctx.constant_ints(0);
  for (int64_t d : dims) OCTET_NODE_CHECK(ctx, d >= 0, "negative dimension ", d);
  OCTET_NODE_CHECK(ctx, checked_numel(dims) <= kMaxElements, "shape ", dims_to_string(dims),
                   " is too large");
  ctx.set_output(0, fill_value(ctx.graph(), ctx.node()).dtype, dims);
}

class FillKernel final : public Kernel {
 public:
  explicit FillKernel(FillValue v) : value_(std::move(v)) {}
  void run(std::span<const TensorRef>, std::span<TensorRef> out) override {
    auto* dst = static_cast<std::byte*>(out[0].data);
    const size_t size = value_.bytes.size();
    for (int64_t i = 0, n = out[0].numel(); i < n; ++i)
      std::memcpy(dst + i * size, value_.bytes.data(), size);
  }
  std::string_view impl_name() const override { return "fill"; }

 private:
  FillValue value_;
};

std::unique_ptr<Kernel> prepare(const PrepareContext& ctx) {
  return std::make_unique<FillKernel>(fill_value(ctx.graph, ctx.node));
}

}  // namespace

void register_constant_of_shape_op(OpRegistry& r) {
  r.add({.name = "ConstantOfShape", .infer = infer, .prepare = prepare});
}

}  // namespace octet
