// Transpose, Concat, Split, Slice, Gather, Expand, DepthToSpace and SpaceToDepth.
#include <algorithm>
#include <limits>
#include <numeric>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/movement_common.h"
#include "kernels/concat.h"
#include "kernels/gather.h"
#include "kernels/strided_copy.h"

namespace octet {
namespace {

using movement::element_size;
using movement::normalize_axis;

// An InferContext over a prepared node, to re-read attributes and constant inputs.
InferContext reread(const PrepareContext& ctx) { return InferContext(ctx.graph, ctx.node, {}); }

int64_t product(const Dims& d, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= d[i];
  return n;
}

// ---- strided copies (Transpose, Slice) -------------------------------------------------

class StridedCopyKernel final : public Kernel {
 public:
  StridedCopyKernel(kernels::StridedCopy plan, int64_t src_offset, size_t elem, bool reference,
                    int threads, const char* name)
      : plan_(std::move(plan)), src_offset_(src_offset), elem_(elem), reference_(reference),
        threads_(threads), name_(name) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    for (int64_t d : plan_.dims)
      if (d == 0) return;
    const auto* src = static_cast<const unsigned char*>(in[0].data) +
                      src_offset_ * static_cast<int64_t>(elem_);
    if (reference_) kernels::strided_copy_reference(src, out[0].data, elem_, plan_);
    else kernels::strided_copy(src, out[0].data, elem_, plan_, threads_);
  }
  std::string_view impl_name() const override { return reference_ ? "strided_ref" : name_; }

 private:
  kernels::StridedCopy plan_;
  int64_t src_offset_;
  size_t elem_;
  bool reference_;
  int threads_;
  const char* name_;
};

std::vector<int64_t> transpose_perm(const InferContext& ctx, size_t rank) {
  std::vector<int64_t> perm(rank);
  if (ctx.attrs().has("perm")) {
    perm = ctx.attrs().get_ints("perm");
    if (perm.size() != rank)
      ctx.fail("perm ", dims_to_string(perm), " has ", perm.size(), " entries for rank ", rank);
    std::vector<char> seen(rank, 0);
    for (int64_t p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p])
        ctx.fail("perm ", dims_to_string(perm), " is not a permutation of 0..", rank - 1);
      seen[p] = 1;
    }
  } else {
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
  }
  return perm;
}

void infer_transpose(InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  element_size(ctx, ctx.input_dtype(0));
  auto perm = transpose_perm(ctx, in.size());
  Dims out(in.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = in[perm[i]];
  ctx.set_output(0, ctx.input_dtype(0), out);
}

std::unique_ptr<Kernel> prepare_transpose(const PrepareContext& ctx) {
  InferContext ic = reread(ctx);
  const Dims in = ctx.input_dims(0);
  auto perm = transpose_perm(ic, in.size());
  const auto in_strides = kernels::dense_strides(in);
  kernels::StridedCopy plan;
  for (size_t i = 0; i < in.size(); ++i) {
    plan.dims.push_back(in[perm[i]]);
    plan.src_strides.push_back(in_strides[perm[i]]);
  }
  plan.dst_strides = kernels::dense_strides(plan.dims);
  return std::make_unique<StridedCopyKernel>(plan, 0, element_size(ic, ctx.input(0).dtype),
                                             ctx.reference, ctx.threads, "transpose_blocked");
}

// Slice: per input dim, start and step, and the output length.
struct SlicePlan {
  Dims out;
  std::vector<int64_t> start, step;
};

SlicePlan plan_slice(const InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attrs().require_ints("starts");
    ends = ctx.attrs().require_ints("ends");
    axes = ctx.attrs().get_ints("axes");
  } else {
    for (size_t i = 1; i < 5; ++i)
      if (ctx.has_input(i) && ctx.input_dims(i).size() != 1)
        ctx.fail("input ", i, " must be 1-D, got shape ", dims_to_string(ctx.input_dims(i)));
    starts = ctx.constant_ints(1);
    ends = ctx.constant_ints(2);
    if (ctx.has_input(3)) axes = ctx.constant_ints(3);
    if (ctx.has_input(4)) steps = ctx.constant_ints(4);
  }
  if (ends.size() != starts.size())
    ctx.fail("starts has ", starts.size(), " values but ends has ", ends.size());
  if (axes.empty() && !(ctx.opset() >= 10 && ctx.has_input(3))) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (axes.size() != starts.size())
    ctx.fail("axes has ", axes.size(), " values but starts has ", starts.size());
  if (steps.empty() && !(ctx.opset() >= 10 && ctx.has_input(4))) steps.assign(starts.size(), 1);
  if (steps.size() != starts.size())
    ctx.fail("steps has ", steps.size(), " values but starts has ", starts.size());

  SlicePlan p;
  p.out = in;
  p.start.assign(in.size(), 0);
  p.step.assign(in.size(), 1);
  std::vector<char> seen(in.size(), 0);
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t a = normalize_axis(ctx, axes[k], rank, "axis");
    if (seen[a]) ctx.fail("axis ", axes[k], " is given twice");
    seen[a] = 1;
    const int64_t dim = in[a], step = steps[k];
    if (step == 0) ctx.fail("step of axis ", axes[k], " is 0");
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += dim;  // INT64_MIN + dim cannot overflow (dim >= 0)
    if (e < 0) e += dim;
    int64_t len;
    if (dim == 0) {
      s = 0;
      len = 0;
    } else if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e - 1) / (-step) + 1 : 0;
    }
    p.out[a] = len;
    p.start[a] = s;
    p.step[a] = step;
  }
  return p;
}

void infer_slice(InferContext& ctx) {
  element_size(ctx, ctx.input_dtype(0));
  ctx.set_output(0, ctx.input_dtype(0), plan_slice(ctx).out);
}

std::unique_ptr<Kernel> prepare_slice(const PrepareContext& ctx) {
  InferContext ic = reread(ctx);
  SlicePlan p = plan_slice(ic);
  const auto in_strides = kernels::dense_strides(ctx.input_dims(0));
  kernels::StridedCopy plan;
  int64_t offset = 0;
  plan.dims = p.out;
  for (size_t i = 0; i < p.out.size(); ++i) {
    plan.src_strides.push_back(in_strides[i] * p.step[i]);
    offset += p.start[i] * in_strides[i];
  }
  plan.dst_strides = kernels::dense_strides(plan.dims);
  return std::make_unique<StridedCopyKernel>(plan, offset, element_size(ic, ctx.input(0).dtype),
                                             ctx.reference, ctx.threads, "slice_strided");
}

// ---- Concat ------------------------------------------------------------------------------

int64_t concat_axis(const InferContext& ctx) {
  if (!ctx.attrs().has("axis")) ctx.fail("attribute 'axis' is required");
  const Dims first = ctx.input_dims(0);
  if (first.empty()) ctx.fail("cannot concatenate scalars (rank 0)");
  return normalize_axis(ctx, ctx.attrs().get_int("axis", 0), static_cast<int64_t>(first.size()),
                        "axis");
}

void infer_concat(InferContext& ctx) {
  const int64_t axis = concat_axis(ctx);
  Dims out = ctx.input_dims(0);
  const DType dt = ctx.input_dtype(0);
  element_size(ctx, dt);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const Dims d = ctx.input_dims(i);
    if (ctx.input_dtype(i) != dt)
      ctx.fail("input ", i, " is ", dtype_name(ctx.input_dtype(i)), " but input 0 is ",
               dtype_name(dt));
    bool ok = d.size() == out.size();
    for (size_t k = 0; ok && k < d.size(); ++k)
      if (static_cast<int64_t>(k) != axis && d[k] != out[k]) ok = false;
    if (!ok)
      ctx.fail("input ", i, " has shape ", dims_to_string(d), ", which does not match input 0's ",
               dims_to_string(ctx.input_dims(0)), " outside axis ", axis);
    out[axis] += d[axis];
  }
  ctx.set_output(0, dt, out);
}

class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(kernels::ConcatParams p, bool reference, int threads)
      : p_(std::move(p)), reference_(reference), threads_(threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    std::vector<const void*> srcs;
    for (const TensorRef& t : in) srcs.push_back(t.data);
    if (reference_) kernels::concat_reference(srcs, out[0].data, p_);
    else kernels::concat(srcs, out[0].data, p_, threads_);
  }
  std::string_view impl_name() const override { return reference_ ? "concat_ref" : "concat_memcpy"; }

 private:
  kernels::ConcatParams p_;
  bool reference_;
  int threads_;
};

std::unique_ptr<Kernel> prepare_concat(const PrepareContext& ctx) {
  InferContext ic = reread(ctx);
  const int64_t axis = concat_axis(ic);
  const Dims first = ctx.input_dims(0);
  const int64_t es = static_cast<int64_t>(element_size(ic, ctx.input(0).dtype));
  kernels::ConcatParams p;
  p.outer = product(first, 0, axis);
  const int64_t inner = product(first, axis + 1, first.size());
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i)
    p.part_bytes.push_back(ctx.input_dims(i)[axis] * inner * es);
  return std::make_unique<ConcatKernel>(std::move(p), ctx.reference, ctx.threads);
}

// ---- Split -------------------------------------------------------------------------------

std::vector<int64_t> split_sizes(const InferContext& ctx, int64_t& axis) {
  const Dims in = ctx.input_dims(0);
  if (in.empty()) ctx.fail("cannot split a scalar");
  axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), static_cast<int64_t>(in.size()),
                        "axis");
  const int64_t dim = in[axis];
  const int64_t n = static_cast<int64_t>(ctx.num_outputs());
  std::vector<int64_t> split;
  if (movement::ints_from_attr_or_input(ctx, "split", 1, 13, split)) {
    if (ctx.opset() >= 18 && ctx.attrs().has("num_outputs"))
      ctx.fail("'split' and 'num_outputs' cannot both be given");
    if (static_cast<int64_t>(split.size()) != n)
      ctx.fail("split ", dims_to_string(split), " has ", split.size(), " entries for ", n,
               " outputs");
    int64_t sum = 0;
    for (int64_t s : split) {
      if (s < 0) ctx.fail("split ", dims_to_string(split), " has a negative size");
      sum += s;
    }
    if (sum != dim)
      ctx.fail("split ", dims_to_string(split), " sums to ", sum, " but axis ", axis, " has size ",
               dim);
    return split;
  }
  if (ctx.opset() >= 18) {
    if (!ctx.attrs().has("num_outputs"))
      ctx.fail("either the 'split' input or the 'num_outputs' attribute is required");
    const int64_t k = ctx.attrs().get_int("num_outputs", 0);
    if (k != n) ctx.fail("num_outputs is ", k, " but the node has ", n, " outputs");
    const int64_t chunk = (dim + n - 1) / n;
    int64_t left = dim;
    for (int64_t i = 0; i < n; ++i) {
      split.push_back(std::min(chunk, left));
      left -= split.back();
    }
    return split;
  }
  if (dim % n != 0)
    ctx.fail("axis ", axis, " of size ", dim, " cannot be split evenly into ", n, " outputs");
  split.assign(n, dim / n);
  return split;
}

void infer_split(InferContext& ctx) {
  int64_t axis;
  auto sizes = split_sizes(ctx, axis);
  element_size(ctx, ctx.input_dtype(0));
  Dims out = ctx.input_dims(0);
  for (size_t i = 0; i < sizes.size(); ++i) {
    out[axis] = sizes[i];
    ctx.set_output(i, ctx.input_dtype(0), out);
  }
}

class SplitKernel final : public Kernel {
 public:
  SplitKernel(kernels::ConcatParams p, bool reference, int threads)
      : p_(std::move(p)), reference_(reference), threads_(threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    std::vector<void*> dsts;
    for (const TensorRef& t : out) dsts.push_back(t.data);
    if (reference_) kernels::split_reference(in[0].data, dsts, p_);
    else kernels::split(in[0].data, dsts, p_, threads_);
  }
  std::string_view impl_name() const override { return reference_ ? "split_ref" : "split_memcpy"; }

 private:
  kernels::ConcatParams p_;
  bool reference_;
  int threads_;
};

std::unique_ptr<Kernel> prepare_split(const PrepareContext& ctx) {
  InferContext ic = reread(ctx);
  int64_t axis;
  auto sizes = split_sizes(ic, axis);
  const Dims in = ctx.input_dims(0);
  const int64_t es = static_cast<int64_t>(element_size(ic, ctx.input(0).dtype));
  kernels::ConcatParams p;
  p.outer = product(in, 0, axis);
  const int64_t inner = product(in, axis + 1, in.size());
  for (int64_t s : sizes) p.part_bytes.push_back(s * inner * es);
  return std::make_unique<SplitKernel>(std::move(p), ctx.reference, ctx.threads);
}

// ---- Gather ------------------------------------------------------------------------------

kernels::GatherParams gather_params(const InferContext& ctx, Dims* out_dims) {
  const Dims data = ctx.input_dims(0), idx = ctx.input_dims(1);
  if (data.empty()) ctx.fail("data must have rank >= 1");
  const DType it = ctx.input_dtype(1);
  if (it != DType::kI32 && it != DType::kI64)
    ctx.fail("indices must be int32 or int64, not ", dtype_name(it));
  const int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0),
                                      static_cast<int64_t>(data.size()), "axis");
  kernels::GatherParams p;
  p.outer = product(data, 0, axis);
  p.axis_dim = data[axis];
  p.inner_bytes = product(data, axis + 1, data.size()) *
                  static_cast<int64_t>(element_size(ctx, ctx.input_dtype(0)));
  p.num_indices = checked_numel(idx);
  if (out_dims) {
    out_dims->assign(data.begin(), data.begin() + axis);
    out_dims->insert(out_dims->end(), idx.begin(), idx.end());
    out_dims->insert(out_dims->end(), data.begin() + axis + 1, data.end());
    if (static_cast<int64_t>(out_dims->size()) > movement::kMaxRank)
      ctx.fail("output rank ", out_dims->size(), " exceeds ", movement::kMaxRank);
  }
  return p;
}

void infer_gather(InferContext& ctx) {
  Dims out;
  kernels::GatherParams p = gather_params(ctx, &out);
  if (ctx.input_is_constant(1)) {
    std::vector<int64_t> idx = ctx.constant_ints(1);
    for (size_t i = 0; i < idx.size(); ++i)
      if (idx[i] < -p.axis_dim || idx[i] >= p.axis_dim)
        ctx.fail("index ", idx[i], " (position ", i, ") is out of range for an axis of size ",
                 p.axis_dim);
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
}

class GatherKernel final : public Kernel {
 public:
  GatherKernel(kernels::GatherParams p, bool is64, std::string what, bool reference, int threads)
      : p_(p), is64_(is64), what_(std::move(what)), reference_(reference), threads_(threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    kernels::check_gather_indices(in[1].data, is64_, p_, what_.c_str());
    if (reference_) kernels::gather_reference(in[0].data, in[1].data, is64_, out[0].data, p_);
    else kernels::gather(in[0].data, in[1].data, is64_, out[0].data, p_, threads_);
  }
  std::string_view impl_name() const override { return reference_ ? "gather_ref" : "gather_memcpy"; }

 private:
  kernels::GatherParams p_;
  bool is64_;
  std::string what_;
  bool reference_;
  int threads_;
};

std::unique_ptr<Kernel> prepare_gather(const PrepareContext& ctx) {
  InferContext ic = reread(ctx);
  kernels::GatherParams p = gather_params(ic, nullptr);
  return std::make_unique<GatherKernel>(p, ctx.input(1).dtype == DType::kI64,
                                        "Gather node '" + ctx.node.name + "'", ctx.reference,
                                        ctx.threads);
}

// ---- Expand --------------------------------------------------------------------------------

Dims expand_dims(const InferContext& ctx) {
  const Dims in = ctx.input_dims(0);
  if (ctx.input_dims(1).size() != 1)
    ctx.fail("shape must be 1-D, got shape ", dims_to_string(ctx.input_dims(1)));
  const std::vector<int64_t> shape = ctx.constant_ints(1);
  const size_t rank = std::max(in.size(), shape.size());
  if (static_cast<int64_t>(rank) > movement::kMaxRank)
    ctx.fail("rank ", rank, " exceeds ", movement::kMaxRank);
  Dims out(rank);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t a = k + in.size() >= rank ? in[k + in.size() - rank] : 1;
    const int64_t b = k + shape.size() >= rank ? shape[k + shape.size() - rank] : 1;
    if (b < 0) ctx.fail("shape ", dims_to_string(shape), " has a negative value");
    if (a != b && a != 1 && b != 1)
      ctx.fail("input ", dims_to_string(in), " cannot be broadcast to shape ",
               dims_to_string(shape));
    out[k] = a == 1 ? b : a;
  }
  return out;
}

void infer_expand(InferContext& ctx) {
  element_size(ctx, ctx.input_dtype(0));
  ctx.set_output(0, ctx.input_dtype(0), expand_dims(ctx));
}

std::unique_ptr<Kernel> prepare_expand(const PrepareContext& ctx) {
  InferContext ic = reread(ctx);
  const Dims in = ctx.input_dims(0);
  const Dims out = expand_dims(ic);
  const auto in_strides = kernels::dense_strides(in);
  kernels::StridedCopy plan;
  plan.dims = out;
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t lead = out.size() - in.size();
    const bool broadcast = k < lead || in[k - lead] == 1;
    plan.src_strides.push_back(broadcast ? 0 : in_strides[k - lead]);
  }
  plan.dst_strides = kernels::dense_strides(out);
  return std::make_unique<StridedCopyKernel>(plan, 0, element_size(ic, ctx.input(0).dtype),
                                             ctx.reference, ctx.threads, "expand_strided");
}

// ---- DepthToSpace, SpaceToDepth: a reshape to 6-D, a transpose, a reshape ---------------

struct BlockPlan {
  Dims view;                  // input seen as 6-D
  std::vector<int64_t> perm;  // of the view
  Dims out;
};

BlockPlan plan_block(const InferContext& ctx, bool to_space) {
  const Dims in = ctx.input_dims(0);
  if (in.size() != 4) ctx.fail("input must be 4-D (N, C, H, W), got ", dims_to_string(in));
  if (!ctx.attrs().has("blocksize")) ctx.fail("attribute 'blocksize' is required");
  const int64_t b = ctx.attrs().get_int("blocksize", 0);
  if (b <= 0 || b > (int64_t(1) << 20)) ctx.fail("blocksize ", b, " must be positive");
  element_size(ctx, ctx.input_dtype(0));
  const int64_t n = in[0], c = in[1], h = in[2], w = in[3];
  BlockPlan p;
  if (to_space) {
    if (c % (b * b) != 0)
      ctx.fail("channels ", c, " are not divisible by blocksize^2 = ", b * b);
    const std::string mode = ctx.attrs().get_string("mode", "DCR");
    const int64_t cc = c / (b * b);
    if (mode == "DCR") {
      p.view = {n, b, b, cc, h, w};
      p.perm = {0, 3, 4, 1, 5, 2};
    } else if (mode == "CRD") {
      p.view = {n, cc, b, b, h, w};
      p.perm = {0, 1, 4, 2, 5, 3};
    } else {
      ctx.fail("mode '", mode, "' is not DCR or CRD");
    }
    p.out = {n, cc, h * b, w * b};
  } else {
    if (h % b != 0 || w % b != 0)
      ctx.fail("spatial dims ", h, "x", w, " are not divisible by blocksize ", b);
    p.view = {n, c, h / b, b, w / b, b};
    p.perm = {0, 3, 5, 1, 2, 4};
    p.out = {n, c * b * b, h / b, w / b};
  }
  return p;
}

void infer_depth_to_space(InferContext& ctx) {
  ctx.set_output(0, ctx.input_dtype(0), plan_block(ctx, true).out);
}
void infer_space_to_depth(InferContext& ctx) {
  ctx.set_output(0, ctx.input_dtype(0), plan_block(ctx, false).out);
}

std::unique_ptr<Kernel> prepare_block(const PrepareContext& ctx, bool to_space) {
  InferContext ic = reread(ctx);
  BlockPlan p = plan_block(ic, to_space);
  const auto strides = kernels::dense_strides(p.view);
  kernels::StridedCopy plan;
  for (int64_t k : p.perm) {
    plan.dims.push_back(p.view[k]);
    plan.src_strides.push_back(strides[k]);
  }
  plan.dst_strides = kernels::dense_strides(plan.dims);
  return std::make_unique<StridedCopyKernel>(plan, 0, element_size(ic, ctx.input(0).dtype),
                                             ctx.reference, ctx.threads, "block_transpose");
}
std::unique_ptr<Kernel> prepare_depth_to_space(const PrepareContext& ctx) {
  return prepare_block(ctx, true);
}
std::unique_ptr<Kernel> prepare_space_to_depth(const PrepareContext& ctx) {
  return prepare_block(ctx, false);
}

}  // namespace

void register_movement_copy_ops(OpRegistry& r) {
  r.add({.name = "Transpose", .infer = infer_transpose, .prepare = prepare_transpose,
         .layout = LayoutClass::kAgnostic, .encoding = EncodingClass::kRearranges});
  r.add({.name = "Concat", .min_inputs = 1, .max_inputs = 1 << 16, .infer = infer_concat,
         .prepare = prepare_concat, .layout = LayoutClass::kAgnostic});
  r.add({.name = "Split", .min_inputs = 1, .max_inputs = 2, .min_outputs = 1,
         .max_outputs = 1 << 16, .infer = infer_split, .prepare = prepare_split,
         .encoding = EncodingClass::kSelects16});
  r.add({.name = "Slice", .min_inputs = 1, .max_inputs = 5, .infer = infer_slice,
         .prepare = prepare_slice, .encoding = EncodingClass::kSelects16});
  r.add({.name = "Expand", .min_inputs = 2, .max_inputs = 2, .infer = infer_expand,
         .prepare = prepare_expand, .encoding = EncodingClass::kSelects});
  r.add({.name = "DepthToSpace", .infer = infer_depth_to_space,
         .prepare = prepare_depth_to_space, .encoding = EncodingClass::kSelects16});
  r.add({.name = "SpaceToDepth", .infer = infer_space_to_depth,
         .prepare = prepare_space_to_depth, .encoding = EncodingClass::kSelects16});
  r.add({.name = "Gather", .min_inputs = 2, .max_inputs = 2, .infer = infer_gather,
         .prepare = prepare_gather, .encoding = EncodingClass::kSelects});
}

}  // namespace octet
