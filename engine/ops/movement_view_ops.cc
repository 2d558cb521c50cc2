// View ops (the output is input 0 with other dims: no data moves) and Shape.
#include <algorithm>
#include <cstring>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/movement_common.h"

namespace octet {
namespace {

using movement::kMaxRank;
using movement::normalize_axis;

void check_rank(const InferContext& ctx, size_t rank) {
  if (static_cast<int64_t>(rank) > kMaxRank)
    ctx.fail("rank ", rank, " exceeds the supported maximum ", kMaxRank);
}

void infer_reshape(InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  if (ctx.input_dims(1).size() != 1)
    ctx.fail("the shape input must be 1-D, got shape ", dims_to_string(ctx.input_dims(1)));
  const std::vector<int64_t> shape = ctx.constant_ints(1);
  check_rank(ctx, shape.size());
  const bool allowzero = ctx.opset() >= 14 && ctx.attrs().get_int("allowzero", 0) != 0;
  Dims out(shape.size());
  int64_t infer_at = -1, known = 1;
  bool has_zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t v = shape[i];
    if (v == -1) {
      if (infer_at >= 0) ctx.fail("shape ", dims_to_string(shape), " has more than one -1");
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (v < -1) ctx.fail("shape ", dims_to_string(shape), " has the invalid value ", v);
    if (v == 0 && !allowzero) {
      if (i >= in.size())
        ctx.fail("shape ", dims_to_string(shape), ": 0 at position ", i,
                 " copies an input dimension, but the input ", dims_to_string(in), " has rank ",
                 in.size());
      v = in[i];
    } else if (v == 0) {
      has_zero = true;
    }
    out[i] = v;
    if (v != 0 && known > (int64_t(1) << 62) / v)
      ctx.fail("shape ", dims_to_string(shape), " is too large");
    known *= v;
  }
  const int64_t numel = checked_numel(in);
  if (infer_at >= 0) {
    if (has_zero) ctx.fail("shape ", dims_to_string(shape), " has both -1 and 0 with allowzero=1");
    if (known == 0) {
      if (numel != 0)
        ctx.fail("cannot infer the -1 of shape ", dims_to_string(shape), " for input ",
                 dims_to_string(in));
      ctx.fail("the -1 of shape ", dims_to_string(shape), " is ambiguous for the empty input ",
               dims_to_string(in));
    }
    if (numel % known != 0)
      ctx.fail("cannot reshape input ", dims_to_string(in), " (", numel, " elements) to ",
               dims_to_string(shape));
    out[infer_at] = numel / known;
  } else if (known != numel) {
    ctx.fail("cannot reshape input ", dims_to_string(in), " (", numel, " elements) to ",
             dims_to_string(shape), " (", known, " elements)");
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
}

void infer_flatten(InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (axis < -rank || axis > rank)
    ctx.fail("axis ", axis, " is out of range for rank ", rank, " (valid: ", -rank, "..", rank,
             ")");
  if (axis < 0) axis += rank;
  int64_t a = 1, b = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? a : b) *= in[i];
  ctx.set_output(0, ctx.input_dtype(0), {a, b});
}

// Sorted, validated axes; `rank` is the rank they index.
std::vector<int64_t> unique_axes(const InferContext& ctx, const std::vector<int64_t>& axes,
                                 int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes) out.push_back(normalize_axis(ctx, a, rank, "axis"));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    ctx.fail("axes ", dims_to_string(axes), " name an axis twice");
  return out;
}

void infer_squeeze(InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> axes;
  Dims out;
  if (movement::ints_from_attr_or_input(ctx, "axes", 1, 13, axes)) {
    std::vector<int64_t> sorted = unique_axes(ctx, axes, rank);
    for (int64_t a : sorted)
      if (in[a] != 1)
        ctx.fail("cannot squeeze axis ", a, " of size ", in[a], " (input ", dims_to_string(in),
                 ")");
    for (int64_t i = 0; i < rank; ++i)
      if (!std::binary_search(sorted.begin(), sorted.end(), i)) out.push_back(in[i]);
  } else {
    for (int64_t d : in)
      if (d != 1) out.push_back(d);
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
}

void infer_unsqueeze(InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  std::vector<int64_t> axes;
  if (!movement::ints_from_attr_or_input(ctx, "axes", 1, 13, axes))
    ctx.fail("axes are required");
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  check_rank(ctx, out_rank);
  std::vector<int64_t> sorted = unique_axes(ctx, axes, out_rank);
  Dims out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) {
    if (std::binary_search(sorted.begin(), sorted.end(), i)) out.push_back(1);
    else out.push_back(in[next++]);
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
}

// Shape: [start, end) of the input's dims (start/end from opset 15).
void shape_range(const Dims& in, int64_t opset, const Attributes& attrs, int64_t& start,
                 int64_t& end) {
  const int64_t rank = static_cast<int64_t>(in.size());
  start = 0;
  end = rank;
  if (opset >= 15) {
    start = attrs.get_int("start", 0);
    end = attrs.get_int("end", rank);
  }
  auto clamp = [rank](int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  start = clamp(start);
  end = std::max(start, clamp(end));
}

void infer_shape(InferContext& ctx) {
  int64_t start, end;
  shape_range(ctx.input_dims(0), ctx.opset(), ctx.attrs(), start, end);
  ctx.set_output(0, DType::kI64, {end - start});
}

class ShapeKernel final : public Kernel {
 public:
  explicit ShapeKernel(std::vector<int64_t> values) : values_(std::move(values)) {}
  void run(std::span<const TensorRef>, std::span<TensorRef> out) override {
    if (!values_.empty())
      std::memcpy(out[0].data, values_.data(), values_.size() * sizeof(int64_t));
  }
  std::string_view impl_name() const override { return "shape"; }

 private:
  std::vector<int64_t> values_;
};

std::unique_ptr<Kernel> prepare_shape(const PrepareContext& ctx) {
  const Dims in = ctx.input_dims(0);
  int64_t start, end;
  shape_range(in, ctx.graph.opset, ctx.node.attrs, start, end);
  return std::make_unique<ShapeKernel>(std::vector<int64_t>(in.begin() + start, in.begin() + end));
}

}  // namespace

void register_movement_view_ops(OpRegistry& r) {
  r.add({.name = "Reshape", .min_inputs = 2, .max_inputs = 2, .infer = infer_reshape,
         .prepare = movement::prepare_view_copy, .output_aliases_input0 = true,
         .encoding = EncodingClass::kRearranges});
  r.add({.name = "Flatten", .infer = infer_flatten, .prepare = movement::prepare_view_copy,
         .output_aliases_input0 = true,
         .encoding = EncodingClass::kRearranges});
  r.add({.name = "Squeeze", .min_inputs = 1, .max_inputs = 2, .infer = infer_squeeze,
         .prepare = movement::prepare_view_copy, .output_aliases_input0 = true,
         .encoding = EncodingClass::kRearranges});
  r.add({.name = "Unsqueeze", .min_inputs = 1, .max_inputs = 2, .infer = infer_unsqueeze,
         .prepare = movement::prepare_view_copy, .output_aliases_input0 = true,
         .encoding = EncodingClass::kRearranges});
  r.add({.name = "Shape", .infer = infer_shape, .prepare = prepare_shape,
         .depends_on_shapes_only = true});
}

}  // namespace octet
