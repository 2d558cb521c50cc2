// ReduceMean, ReduceSum, ReduceMax, ReduceMin (f32). Axes are an attribute before opset 18
// (ReduceSum: 13) and an optional constant input from then on.
#include <algorithm>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "kernels/copy.h"
#include "kernels/reduce.h"

namespace octet {
namespace {

using kernels::ReduceKind;

struct ReducePlan {
  Dims in, out;
  std::vector<bool> reduced;  // per input axis
  bool identity = false;      // noop_with_empty_axes with no axes
  ReduceKind kind = ReduceKind::kMean;
};

ReduceKind reduce_kind(const std::string& op) {
  if (op == "ReduceSum") return ReduceKind::kSum;
  if (op == "ReduceMax") return ReduceKind::kMax;
  if (op == "ReduceMin") return ReduceKind::kMin;
  return ReduceKind::kMean;
}

std::vector<int64_t> constant_axes(const Graph& g, const Node& n) {
  const TensorInfo& t = g.tensor(n.inputs[1]);
  if (!t.is_constant()) node_fail(n, "the axes input '", t.name, "' must be a constant");
  int64_t count = checked_numel(t.shape.concrete());
  const size_t width = t.dtype == DType::kI64 ? 8 : t.dtype == DType::kI32 ? 4 : 0;
  if (width == 0) node_fail(n, "the axes input must be int64 or int32");
  if (t.data->size() < static_cast<size_t>(count) * width) node_fail(n, "the axes input is truncated");
  std::vector<int64_t> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    out[i] = width == 8 ? t.data->as<int64_t>()[i] : t.data->as<int32_t>()[i];
  return out;
}

// `axes_input`: the values of input 1 when present (opsets where axes is an input).
ReducePlan reduce_plan(const Node& n, int64_t opset, const Dims& x,
                       const std::vector<int64_t>& axes_input) {
  ReducePlan p;
  p.in = x;
  p.kind = reduce_kind(n.op_type);
  const int64_t input_from = n.op_type == "ReduceSum" ? 13 : 18;
  std::vector<int64_t> axes;
  bool noop = false;
  if (opset < input_from) {
    if (n.has_input(1)) node_fail(n, "axes is an attribute before opset ", input_from);
    axes = n.attrs.get_ints("axes", {});
  } else {
    noop = n.attrs.get_int("noop_with_empty_axes", 0) != 0;
    axes = axes_input;
  }
  const int64_t keepdims = n.attrs.get_int("keepdims", 1);
  const int64_t rank = static_cast<int64_t>(x.size());
  p.reduced.assign(x.size(), false);
  if (axes.empty()) {
    if (noop) {
      p.identity = true;
      p.out = x;
      return p;
    }
    p.reduced.assign(x.size(), true);
  }
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      node_fail(n, "axis ", a, " is out of range for input rank ", rank);
    if (a < 0) a += rank;
    if (p.reduced[a]) node_fail(n, "axis ", a, " is given twice");
    p.reduced[a] = true;
  }
  for (size_t a = 0; a < x.size(); ++a) {
    if (!p.reduced[a]) p.out.push_back(x[a]);
    else if (keepdims) p.out.push_back(1);
  }
  return p;
}

void infer_reduce(InferContext& ctx) {
  if (ctx.input_dtype(0) != DType::kF32)
    ctx.fail("input type ", dtype_name(ctx.input_dtype(0)), " is not supported");
  std::vector<int64_t> axes;
  if (ctx.has_input(1)) axes = ctx.constant_ints(1);
  ReducePlan p = reduce_plan(ctx.node(), ctx.opset(), ctx.input_dims(0), axes);
  ctx.set_output(0, DType::kF32, p.out);
}

class ReduceKernel final : public Kernel {
 public:
  ReduceKernel(ReducePlan p, bool reference, int threads)
      : p_(std::move(p)), reference_(reference), threads_(threads) {
    // The optimized path needs the reduced axes (ignoring size-1 ones) to be contiguous.
    int64_t first = -1, last = -1;
    for (size_t a = 0; a < p_.in.size(); ++a)
      if (p_.reduced[a] && p_.in[a] != 1) {
        if (first < 0) first = static_cast<int64_t>(a);
        last = static_cast<int64_t>(a);
      }
    contiguous_ = true;
    for (int64_t a = first; a >= 0 && a <= last; ++a)
      if (!p_.reduced[a] && p_.in[a] != 1) contiguous_ = false;
    outer_ = n_ = inner_ = 1;
    for (int64_t a = 0; a < static_cast<int64_t>(p_.in.size()); ++a) {
      if (first < 0 || a < first) outer_ *= p_.in[a];
      else if (a <= last) n_ *= p_.in[a];
      else inner_ *= p_.in[a];
    }
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const float* x = in[0].as<float>();
    float* y = out[0].as<float>();
    if (p_.identity) {
      kernels::copy_bytes(x, y, static_cast<size_t>(in[0].numel()) * sizeof(float), threads_);
    } else if (reference_ || !contiguous_) {
      kernels::reduce_reference(p_.kind, x, y, p_.in, p_.reduced);
    } else {
      kernels::reduce_f32(p_.kind, x, y, outer_, n_, inner_, threads_);
    }
  }
  std::string_view impl_name() const override {
    if (p_.identity) return "copy";
    return reference_ || !contiguous_ ? "reduce_reference" : "reduce_f32_hwy";
  }

 private:
  ReducePlan p_;
  bool reference_, contiguous_ = false;
  int threads_;
  int64_t outer_, n_, inner_;
};

std::unique_ptr<Kernel> prepare_reduce(const PrepareContext& ctx) {
  std::vector<int64_t> axes;
  if (ctx.has_input(1)) axes = constant_axes(ctx.graph, ctx.node);
  return std::make_unique<ReduceKernel>(reduce_plan(ctx.node, ctx.graph.opset, ctx.input_dims(0), axes),
                                        ctx.reference, ctx.threads);
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"})
    r.add({.name = op, .min_inputs = 1, .max_inputs = 2, .infer = infer_reduce,
           .prepare = prepare_reduce});
}

}  // namespace octet
