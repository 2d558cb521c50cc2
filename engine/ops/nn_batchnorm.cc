// BatchNormalization (inference) binding.
#include <memory>

#include "engine/ops/nn_common.h"
#include "engine/ops/op_groups.h"
#include "kernels/batchnorm.h"

namespace octet {
namespace {


struct BnGeom {
  kernels::BatchNormShape s;
  int64_t params;  // entries per parameter tensor
  float eps;
};

BnGeom bn_geom(const Node& node, int64_t opset, const Dims& x, const Dims* pd[4],
               size_t num_outputs_used) {
  BnGeom g;
  if (num_outputs_used > 1)
    node_fail(node, "training outputs (running mean/var, saved statistics) are not supported");
  if (opset >= 14 && node.attrs.get_int("training_mode", 0) != 0)
    node_fail(node, "training_mode=1 is not supported");
  if (x.size() < 2) node_fail(node, "input must have rank >= 2");
  g.s.nhwc = nn::is_nhwc(node);
  g.s.N = x[0];
  g.s.C = g.s.nhwc ? x.back() : x[1];
  g.s.S = 1;
  for (size_t i = 1; i < x.size(); ++i)
    if (i != (g.s.nhwc ? x.size() - 1 : 1)) g.s.S *= x[i];
  const int64_t spatial = opset <= 8 ? node.attrs.get_int("spatial", 1) : 1;
  g.s.per_element = spatial == 0;
  g.params = g.s.per_element ? g.s.C * g.s.S : g.s.C;
  for (int i = 0; i < 4; ++i)
    if (checked_numel(*pd[i]) != g.params)
      node_fail(node, "parameter ", i + 1, " must have ", g.params, " values, has shape ",
                dims_to_string(*pd[i]));
  g.eps = node.attrs.get_float("epsilon", 1e-5f);
  if (!(g.eps >= 0.f)) node_fail(node, "epsilon must be >= 0");
  return g;
}

size_t outputs_used(const Node& node) {
  size_t n = 0;
  for (TensorId id : node.outputs)
    if (id != kNoTensor) ++n;
  return n;
}

void infer_bn(InferContext& ctx) {
  Dims d[4];
  const Dims* pd[4];
  for (int i = 0; i < 5; ++i) nn::require_f32(ctx.node(), ctx.input_dtype(i), "BatchNormalization input");
  for (int i = 0; i < 4; ++i) {
    d[i] = ctx.input_dims(i + 1);
    pd[i] = &d[i];
  }
  bn_geom(ctx.node(), ctx.opset(), ctx.input_dims(0), pd, outputs_used(ctx.node()));
  ctx.set_output(0, DType::kF32, ctx.input_dims(0));
}

class BnKernel final : public Kernel {
 public:
  explicit BnKernel(const PrepareContext& ctx) : threads_(ctx.threads), ref_(ctx.reference) {
    Dims d[4];
    const Dims* pd[4];
    for (int i = 0; i < 4; ++i) {
      d[i] = ctx.input_dims(i + 1);
      pd[i] = &d[i];
    }
    g_ = bn_geom(ctx.node, ctx.graph.opset, ctx.input_dims(0), pd, outputs_used(ctx.node));
    consts_ = true;
    for (int i = 1; i < 5; ++i) consts_ = consts_ && ctx.input(i).is_constant();
    if (consts_ && !ref_) {
      std::vector<float> v[4];
      for (int i = 0; i < 4; ++i) v[i] = nn::const_floats(ctx.node, ctx.input(i + 1));
      kernels::batchnorm_fold(g_.params, v[0].data(), v[1].data(), v[2].data(), v[3].data(),
                              g_.eps, a_, b_);
    }
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const float* x = in[0].as<float>();
    float* y = out[0].as<float>();
    if (ref_) {
      kernels::batchnorm_reference(g_.s, x, in[1].as<float>(), in[2].as<float>(),
                                   in[3].as<float>(), in[4].as<float>(), g_.eps, y);
      return;
    }
    if (!consts_)
      kernels::batchnorm_fold(g_.params, in[1].as<float>(), in[2].as<float>(), in[3].as<float>(),
                              in[4].as<float>(), g_.eps, a_, b_);
    kernels::batchnorm_apply(g_.s, x, a_.data(), b_.data(), y, threads_);
  }
  std::string_view impl_name() const override { return ref_ ? "batchnorm_reference" : "batchnorm_folded"; }

 private:
  int threads_;
  bool ref_, consts_ = false;
  BnGeom g_;
  std::vector<float> a_, b_;
};

std::unique_ptr<Kernel> prepare_bn(const PrepareContext& ctx) {
  return std::make_unique<BnKernel>(ctx);
}

}  // namespace

void register_nn_batchnorm_ops(OpRegistry& r) {
  r.add({.name = "BatchNormalization", .min_inputs = 5, .max_inputs = 5, .min_outputs = 1,
         .max_outputs = 5, .infer = infer_bn, .prepare = prepare_bn,
         .layout = LayoutClass::kNhwcIsland});
}

}  // namespace octet
