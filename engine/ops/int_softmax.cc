// octet.QSoftmax (ONNX Softmax `axis`, opset 13 semantics: one axis, default -1): binding of
// kernels/qsoftmax.h.
#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/q_common.h"
#include "kernels/qsoftmax.h"

namespace octet {
namespace {

using namespace qops;

struct View {
  int64_t outer = 1, n = 1, inner = 1;
};

View softmax_view(const Node& node, const Dims& x) {
  const int64_t rank = int64_t(x.size());
  if (rank == 0) node_fail(node, "input must have rank >= 1");
  int64_t axis = node.attrs.get_int("axis", -1);
  if (axis < -rank || axis >= rank) node_fail(node, "axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += rank;
  View v;
  for (int64_t a = 0; a < axis; ++a) v.outer *= x[a];
  v.n = x[axis];
  for (int64_t a = axis + 1; a < rank; ++a) v.inner *= x[a];
  return v;
}

void infer_qsoftmax(InferContext& ctx) {
  act_quant(ctx.node(), ctx.input(0), "input");
  op_arithmetic(ctx.node());
  softmax_view(ctx.node(), ctx.input_dims(0));
  ctx.set_output(0, declared_output_dtype(ctx, 0, ctx.input_dtype(0)), ctx.input_dims(0));
}

class QSoftmaxKernel final : public Kernel {
 public:
  QSoftmaxKernel(kernels::QSoftmaxParams p, bool reference, int threads)
      : p_(p), reference_(reference), threads_(threads) {
    // The exp table pays off once the input has many more elements than the table.
    if (p_.arith == kernels::OpArithmetic::kMlas) table_ = kernels::qsoftmax_mlas_table(p_);
    else if (!reference_ && p_.outer * p_.n * p_.inner >= (int64_t(1) << 18))
      table_ = kernels::qsoftmax_exp_table(p_);
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (reference_) kernels::qsoftmax_reference(p_, in[0].data, out[0].data);
    else kernels::qsoftmax(p_, table_, in[0].data, out[0].data, threads_);
  }
  std::string_view impl_name() const override {
    if (reference_) return "qsoftmax_reference";
    if (p_.arith == kernels::OpArithmetic::kMlas) return "qsoftmax_mlas_omp";
    return table_.empty() ? "qsoftmax_omp" : "qsoftmax_omp_table";
  }

 private:
  kernels::QSoftmaxParams p_;
  bool reference_;
  int threads_;
  std::vector<float> table_;
};

std::unique_ptr<Kernel> prepare_qsoftmax(const PrepareContext& ctx) {
  const Node& n = ctx.node;
  const ActQuant x = act_quant(n, ctx.input(0), "input");
  const ActQuant y = act_quant(n, ctx.output(0), "output");
  const View v = softmax_view(n, ctx.input_dims(0));
  kernels::QSoftmaxParams p;
  p.outer = v.outer;
  p.n = v.n;
  p.inner = v.inner;
  p.x_type = ctx.input(0).dtype;
  p.y_type = ctx.output(0).dtype;
  p.sx = x.scale;
  p.zx = x.zero_point;
  p.sy = y.scale;
  p.zy = y.zero_point;
  const CodeRange r = output_code_range(n, y);
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  p.arith = op_arithmetic(n);
  return std::make_unique<QSoftmaxKernel>(p, use_reference(ctx), ctx.threads);
}

}  // namespace

void register_int_softmax_ops(OpRegistry& r) {
  r.add({.name = "octet.QSoftmax", .infer = infer_qsoftmax, .prepare = prepare_qsoftmax});
}

}  // namespace octet
