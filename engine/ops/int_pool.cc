// octet.QAveragePool (ONNX AveragePool attributes + `_layout`) and octet.QGlobalAveragePool
// (+ `_layout`): bindings of kernels/qpool.h and kernels/qpool_global.h.
#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/q_common.h"
#include "engine/ops/pool_geometry.h"
#include "engine/ops/ref_opt_kernel.h"
#include "kernels/qpool.h"
#include "kernels/qpool_global.h"

namespace octet {
namespace {

using namespace qops;

Dims pool_out_dims(const kernels::PoolParams& p, bool nhwc) {
  if (nhwc) return {p.batch, p.out[0], p.out[1], p.channels};
  Dims d{p.batch, p.channels};
  d.insert(d.end(), p.out.begin(), p.out.end());
  return d;
}

kernels::PoolParams checked_geometry(const Node& n, const Dims& x, int64_t opset) {
  kernels::PoolParams g = pool_geometry(n, x, opset);
  int64_t taps = 1;
  for (int64_t k : g.kernel) {
    taps *= k;
    if (taps > kernels::kQPoolMaxTaps) node_fail(n, "the pooling window has more than 2^23 taps");
  }
  return g;
}

void infer_qavgpool(InferContext& ctx) {
  const Node& n = ctx.node();
  act_quant(n, ctx.input(0), "input");
  requant_scheme(n);
  const kernels::PoolParams g = checked_geometry(n, ctx.input_dims(0), ctx.opset());
  ctx.set_output(0, declared_output_dtype(ctx, 0, ctx.input_dtype(0)),
                 pool_out_dims(g, pool_is_nhwc(n)));
}

std::unique_ptr<Kernel> prepare_qavgpool(const PrepareContext& ctx) {
  const Node& n = ctx.node;
  const ActQuant x = act_quant(n, ctx.input(0), "input");
  const ActQuant y = act_quant(n, ctx.output(0), "output");
  kernels::QAvgPoolParams p;
  p.geo = checked_geometry(n, ctx.input_dims(0), ctx.graph.opset);
  p.nhwc = pool_is_nhwc(n);
  p.x_type = ctx.input(0).dtype;
  p.y_type = ctx.output(0).dtype;
  p.scheme = requant_scheme(n);
  p.zx = x.zero_point;
  p.zy = y.zero_point;
  const CodeRange r = output_code_range(n, y);
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  try {
    kernels::set_qavgpool_scales(p, x.scale, y.scale);
  } catch (const Error& e) {
    node_fail(n, e.what());
  }
  return ref_opt_kernel(
      std::move(p), use_reference(ctx), ctx.threads,
      {"qavgpool_reference",
       [](const auto& p, auto in, auto out, int) { kernels::qavgpool_reference(p, in[0].data, out[0].data); }},
      {"qavgpool_omp", [](const auto& p, auto in, auto out, int threads) {
         kernels::qavgpool(p, in[0].data, out[0].data, threads);
       }});
}

// --- global ------------------------------------------------------------------------

bool global_nhwc(const Node& n) {
  const std::string layout = n.attrs.get_string("_layout", "NCHW");
  if (layout != "NCHW" && layout != "NHWC")
    node_fail(n, "_layout must be NCHW or NHWC, got '", layout, "'");
  return layout == "NHWC";
}

void infer_qglobalavgpool(InferContext& ctx) {
  const Node& n = ctx.node();
  act_quant(n, ctx.input(0), "input");
  requant_scheme(n);
  op_arithmetic(n);
  const Dims x = ctx.input_dims(0);
  if (x.size() < 3) ctx.fail("input must have rank >= 3, got ", dims_to_string(x));
  const bool nhwc = global_nhwc(n);
  int64_t s = 1;
  for (size_t i = 1; i < x.size(); ++i)
    if (i != (nhwc ? x.size() - 1 : 1)) s *= x[i];
  if (s > kernels::kQPoolMaxTaps) ctx.fail("global pooling over more than 2^23 positions");
  Dims out(x.size(), 1);
  out[0] = x[0];
  if (nhwc) out.back() = x.back();
  else out[1] = x[1];
  ctx.set_output(0, declared_output_dtype(ctx, 0, ctx.input_dtype(0)), out);
}

std::unique_ptr<Kernel> prepare_qglobalavgpool(const PrepareContext& ctx) {
  const Node& n = ctx.node;
  const ActQuant x = act_quant(n, ctx.input(0), "input");
  const ActQuant y = act_quant(n, ctx.output(0), "output");
  const Dims xd = ctx.input_dims(0);
  kernels::QGlobalAvgPoolParams p;
  p.channels_last = global_nhwc(n);
  p.n = xd[0];
  p.c = p.channels_last ? xd.back() : xd[1];
  p.s = 1;
  for (size_t i = 1; i < xd.size(); ++i)
    if (i != (p.channels_last ? xd.size() - 1 : 1)) p.s *= xd[i];
  p.x_type = ctx.input(0).dtype;
  p.y_type = ctx.output(0).dtype;
  p.scheme = requant_scheme(n);
  p.arith = op_arithmetic(n);
  p.zx = x.zero_point;
  p.zy = y.zero_point;
  const CodeRange r = output_code_range(n, y);
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  try {
    kernels::set_qglobalavgpool_scales(p, x.scale, y.scale);
  } catch (const Error& e) {
    node_fail(n, e.what());
  }
  return ref_opt_kernel(
      p, use_reference(ctx), ctx.threads,
      {"qglobalavgpool_reference",
       [](const auto& p, auto in, auto out, int) {
         kernels::qglobalavgpool_reference(p, in[0].data, out[0].data);
       }},
      {"qglobalavgpool_omp", [](const auto& p, auto in, auto out, int threads) {
         kernels::qglobalavgpool(p, in[0].data, out[0].data, threads);
       }});
}

}  // namespace

void register_int_pool_ops(OpRegistry& r) {
  r.add({.name = "octet.QAveragePool", .infer = infer_qavgpool, .prepare = prepare_qavgpool});
  r.add({.name = "octet.QGlobalAveragePool", .infer = infer_qglobalavgpool,
         .prepare = prepare_qglobalavgpool});
}

}  // namespace octet
