// Softmax and LogSoftmax: opset < 13 coerces the input to 2-D at `axis` (default 1);
// opset >= 13 normalizes along one axis (default -1).
#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/ref_opt_kernel.h"
#include "kernels/softmax.h"

namespace octet {
namespace {

struct SoftmaxView {
  int64_t outer = 1, n = 1, inner = 1;
  bool log = false;  // LogSoftmax
};

SoftmaxView softmax_view(const Node& node, const Dims& x, int64_t opset) {
  const int64_t rank = static_cast<int64_t>(x.size());
  const bool coerce = opset < 13;
  int64_t axis = node.attrs.get_int("axis", coerce ? 1 : -1);
  if (rank == 0) node_fail(node, "input must have rank >= 1");
  if (axis < -rank || axis > (coerce ? rank : rank - 1))
    node_fail(node, "axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += rank;
  SoftmaxView v;
  for (int64_t a = 0; a < axis; ++a) v.outer *= x[a];
  if (coerce) {
    for (int64_t a = axis; a < rank; ++a) v.n *= x[a];
  } else {
    v.n = x[axis];
    for (int64_t a = axis + 1; a < rank; ++a) v.inner *= x[a];
  }
  return v;
}

void infer_softmax(InferContext& ctx) {
  if (ctx.input_dtype(0) != DType::kF32)
    ctx.fail("input type ", dtype_name(ctx.input_dtype(0)), " is not supported");
  softmax_view(ctx.node(), ctx.input_dims(0), ctx.opset());
  ctx.set_output(0, DType::kF32, ctx.input_dims(0));
}

std::unique_ptr<Kernel> prepare_softmax(const PrepareContext& ctx) {
  SoftmaxView v = softmax_view(ctx.node, ctx.input_dims(0), ctx.graph.opset);
  v.log = ctx.node.op_type == "LogSoftmax";
  return ref_opt_kernel(
      v, ctx.reference, ctx.threads,
      {"softmax_reference",
       [](const SoftmaxView& v, auto in, auto out, int) {
         kernels::softmax_reference(in[0].template as<float>(), out[0].template as<float>(), v.outer,
                                    v.n, v.inner, v.log);
       }},
      {"softmax_f32_hwy", [](const SoftmaxView& v, auto in, auto out, int threads) {
         kernels::softmax_f32(in[0].template as<float>(), out[0].template as<float>(), v.outer, v.n,
                              v.inner, v.log, threads);
       }});
}

}  // namespace

void register_softmax_ops(OpRegistry& r) {
  r.add({.name = "Softmax", .infer = infer_softmax, .prepare = prepare_softmax});
  r.add({.name = "LogSoftmax", .infer = infer_softmax, .prepare = prepare_softmax});
}

}  // namespace octet
