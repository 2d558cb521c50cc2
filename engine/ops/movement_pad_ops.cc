// Pad (constant, reflect, edge, wrap; negative pads crop) and Tile: copies through
// per-dimension index maps.
#include <cstring>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/movement_common.h"
#include "kernels/cast.h"
#include "kernels/pad.h"

namespace octet {
namespace {

using movement::element_size;

struct PadPlan {
  kernels::IndexMapCopy maps;
  int mode = 0;
  float value = 0.f;       // before opset 11: the 'value' attribute
  bool value_input = false;  // from opset 11: input 2 holds the value
  std::vector<int64_t> begin, end;  // per dim; negative: crop
};

PadPlan plan_pad(const InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  element_size(ctx, ctx.input_dtype(0));
  PadPlan p;
  const std::string mode = ctx.attrs().get_string("mode", "constant");
  if (mode == "constant") p.mode = 0;
  else if (mode == "reflect") p.mode = 1;
  else if (mode == "edge") p.mode = 2;
  else if (mode == "wrap") p.mode = 3;
  else ctx.fail("mode '", mode, "' is not one of constant, reflect, edge, wrap");

  std::vector<int64_t> pads, axes;
  if (ctx.opset() < 11) {
    pads = ctx.attrs().require_ints("pads");
    p.value = ctx.attrs().get_float("value", 0.f);
  } else {
    if (ctx.input_dims(1).size() != 1)
      ctx.fail("pads must be 1-D, got shape ", dims_to_string(ctx.input_dims(1)));
    pads = ctx.constant_ints(1);
    if (ctx.has_input(2)) {
      if (ctx.input_dtype(2) != ctx.input_dtype(0))
        ctx.fail("constant_value is ", dtype_name(ctx.input_dtype(2)), " but data is ",
                 dtype_name(ctx.input_dtype(0)));
      if (checked_numel(ctx.input_dims(2)) > 1)
        ctx.fail("constant_value must be a scalar, got shape ", dims_to_string(ctx.input_dims(2)));
      p.value_input = checked_numel(ctx.input_dims(2)) == 1;
    }
    if (ctx.has_input(3)) {
      if (ctx.opset() < 18) ctx.fail("the axes input needs opset 18");
      axes = ctx.constant_ints(3);
    }
  }
  if (axes.empty() && !(ctx.opset() >= 18 && ctx.has_input(3)))
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  const size_t na = axes.size();
  if (pads.size() != 2 * na)
    ctx.fail("pads has ", pads.size(), " values, expected ", 2 * na, " (2 per padded axis)");
  std::vector<int64_t> begin(rank, 0), end(rank, 0);
  std::vector<char> seen(rank, 0);
  for (size_t k = 0; k < na; ++k) {
    const int64_t a = movement::normalize_axis(ctx, axes[k], rank, "axis");
    if (seen[a]) ctx.fail("axis ", axes[k], " is given twice");
    seen[a] = 1;
    begin[a] = pads[k];
    end[a] = pads[k + na];
  }
  p.maps.src_dims = in;
  for (int64_t d = 0; d < rank; ++d) {
    constexpr int64_t kLimit = int64_t(1) << 31;  // per-dim index maps are built at prepare
    if (begin[d] < -kLimit || begin[d] > kLimit || end[d] < -kLimit || end[d] > kLimit)
      ctx.fail("pads of axis ", d, " are too large");
    const int64_t kept = in[d] + std::min<int64_t>(begin[d], 0) + std::min<int64_t>(end[d], 0);
    if (kept < 0)
      ctx.fail("negative pads ", begin[d], ", ", end[d], " crop more than the ", in[d],
               " elements of axis ", d);
    if (kept == 0 && p.mode != 0 && (begin[d] > 0 || end[d] > 0))
      ctx.fail("mode '", mode, "' cannot pad axis ", d, ", which has no elements left");
    const int64_t out = kept + std::max<int64_t>(begin[d], 0) + std::max<int64_t>(end[d], 0);
    p.maps.dst_dims.push_back(out);
  }
  p.begin = begin;
  p.end = end;
  checked_numel(p.maps.dst_dims);
  return p;
}

void infer_pad(InferContext& ctx) {
  PadPlan p = plan_pad(ctx);
  ctx.set_output(0, ctx.input_dtype(0), p.maps.dst_dims);
}

// One element of `value` converted to dtype `t`.
std::vector<unsigned char> fill_bytes(float value, DType t) {
  std::vector<unsigned char> out(std::max<size_t>(dtype_size(t), 1));
  kernels::cast_reference(&value, DType::kF32, out.data(), t, 1);
  return out;
}

class IndexMapKernel final : public Kernel {
 public:
  IndexMapKernel(kernels::IndexMapCopy m, size_t elem, std::vector<unsigned char> fill,
                 bool fill_from_input2, bool reference, int threads, const char* name)
      : m_(std::move(m)), elem_(elem), fill_(std::move(fill)), fill_input_(fill_from_input2),
        reference_(reference), threads_(threads), name_(name) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const void* fill = fill_.data();
    if (fill_input_) fill = in[2].data;
    if (reference_) kernels::index_map_copy_reference(in[0].data, out[0].data, elem_, m_, fill);
    else kernels::index_map_copy(in[0].data, out[0].data, elem_, m_, fill, threads_);
  }
  std::string_view impl_name() const override { return reference_ ? "index_map_ref" : name_; }

 private:
  kernels::IndexMapCopy m_;
  size_t elem_;
  std::vector<unsigned char> fill_;
  bool fill_input_;
  bool reference_;
  int threads_;
  const char* name_;
};

std::unique_ptr<Kernel> prepare_pad(const PrepareContext& ctx) {
  InferContext ic(ctx.graph, ctx.node, {});
  PadPlan p = plan_pad(ic);
  const Dims in = ctx.input_dims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  // Maps sized by each output axis: none for an output with no elements (a huge axis beside
  // an empty one would otherwise take gigabytes for nothing).
  const bool empty = checked_numel(p.maps.dst_dims) == 0;
  for (int64_t d = 0; d < rank; ++d)
    p.maps.maps.push_back(empty ? std::vector<int64_t>{}
                                : kernels::pad_index_map(in[d], p.begin[d], p.end[d], p.mode));
  const DType dt = ctx.input(0).dtype;
  return std::make_unique<IndexMapKernel>(std::move(p.maps), dtype_size(dt), fill_bytes(p.value, dt),
                                          p.value_input, ctx.reference, ctx.threads, "pad_runs");
}

// ---- Tile ----------------------------------------------------------------------------------

kernels::IndexMapCopy plan_tile(const InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  element_size(ctx, ctx.input_dtype(0));
  if (ctx.input_dims(1).size() != 1)
    ctx.fail("repeats must be 1-D, got shape ", dims_to_string(ctx.input_dims(1)));
  const std::vector<int64_t> rep = ctx.constant_ints(1);
  if (rep.size() != in.size())
    ctx.fail("repeats has ", rep.size(), " values for input rank ", in.size());
  kernels::IndexMapCopy m;
  m.src_dims = in;
  for (size_t d = 0; d < in.size(); ++d) {
    if (rep[d] < 0) ctx.fail("repeats ", dims_to_string(rep), " has a negative value");
    if (in[d] != 0 && rep[d] > (int64_t(1) << 31) / in[d])
      ctx.fail("repeats ", dims_to_string(rep), " are too large (an output dimension would exceed 2^31)");
    m.dst_dims.push_back(in[d] * rep[d]);
  }
  checked_numel(m.dst_dims);
  return m;
}

void infer_tile(InferContext& ctx) {
  ctx.set_output(0, ctx.input_dtype(0), plan_tile(ctx).dst_dims);
}

std::unique_ptr<Kernel> prepare_tile(const PrepareContext& ctx) {
  InferContext ic(ctx.graph, ctx.node, {});
  kernels::IndexMapCopy m = plan_tile(ic);
  const bool empty = checked_numel(m.dst_dims) == 0;  // no maps for no elements (as Pad)
  for (size_t d = 0; d < m.dst_dims.size(); ++d) {
    std::vector<int64_t> map(empty ? 0 : m.dst_dims[d]);
    for (int64_t o = 0; o < int64_t(map.size()); ++o) map[o] = o % m.src_dims[d];
    m.maps.push_back(std::move(map));
  }
  const DType dt = ctx.input(0).dtype;
  return std::make_unique<IndexMapKernel>(std::move(m), dtype_size(dt),
                                          std::vector<unsigned char>(dtype_size(dt)), false,
                                          ctx.reference, ctx.threads, "tile_runs");
}

}  // namespace

void register_movement_pad_ops(OpRegistry& r) {
  r.add({.name = "Pad", .min_inputs = 1, .max_inputs = 4, .infer = infer_pad,
         .prepare = prepare_pad, .encoding = EncodingClass::kSelects});
  r.add({.name = "Tile", .min_inputs = 2, .max_inputs = 2, .infer = infer_tile,
         .prepare = prepare_tile, .encoding = EncodingClass::kSelects});
}

}  // namespace octet
