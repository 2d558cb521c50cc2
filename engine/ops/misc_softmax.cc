// Softmax and LogSoftmax: opset < 13 coerces the input to 2-D at `axis` (default 1);
// opset >= 13 normalizes along one axis (default -1).
#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "kernels/softmax.h"

namespace octet {
namespace {

struct SoftmaxView {
  int64_t outer = 1, n = 1, inner = 1;
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

class SoftmaxKernel final : public Kernel {
 public:
  SoftmaxKernel(SoftmaxView v, bool log, bool reference, int threads)
      : v_(v), log_(log), reference_(reference), threads_(threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (reference_)
      kernels::softmax_reference(in[0].as<float>(), out[0].as<float>(), v_.outer, v_.n, v_.inner, log_);
    else
      kernels::softmax_f32(in[0].as<float>(), out[0].as<float>(), v_.outer, v_.n, v_.inner, log_,
                           threads_);
  }
  std::string_view impl_name() const override {
    return reference_ ? "softmax_reference" : "softmax_f32_hwy";
  }

 private:
  SoftmaxView v_;
  bool log_, reference_;
  int threads_;
};

std::unique_ptr<Kernel> prepare_softmax(const PrepareContext& ctx) {
  return std::make_unique<SoftmaxKernel>(softmax_view(ctx.node, ctx.input_dims(0), ctx.graph.opset),
                                         ctx.node.op_type == "LogSoftmax", ctx.reference,
                                         ctx.threads);
}

}  // namespace

void register_softmax_ops(OpRegistry& r) {
  r.add({.name = "Softmax", .infer = infer_softmax, .prepare = prepare_softmax});
  r.add({.name = "LogSoftmax", .infer = infer_softmax, .prepare = prepare_softmax});
}

}  // namespace octet
