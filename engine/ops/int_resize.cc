// octet.QResize (ONNX Resize attributes and inputs X, [roi], [scales], [sizes]; `_layout`
// NHWC for 4-D): binding of kernels/qresize.h. The source tables are built by the float Resize's
// resize_spec, so the coordinate transform is the same; input and output share one encoding.
#include <cmath>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/q_common.h"
#include "kernels/qcodes.h"
#include "engine/ops/resize_spec.h"
#include "engine/ops/ref_opt_kernel.h"
#include "kernels/qresize.h"
#include "simd/round_half_even.h"

namespace octet {
namespace {

using namespace qops;

void check_encodings(const Node& n, const TensorInfo& x, const TensorInfo& y) {
  const ActQuant qx = act_quant(n, x, "input");
  const ActQuant qy = act_quant(n, y, "output");
  if (x.dtype != y.dtype || qx.scale != qy.scale || qx.zero_point != qy.zero_point)
    node_fail(n, "input '", x.name, "' and output '", y.name,
              "' must share one encoding (dtype, scale, zero point)");
}

void infer_qresize(InferContext& ctx) {
  const Node& n = ctx.node();
  act_quant(n, ctx.input(0), "input");
  ResizeInputFn input = [&](size_t i) -> const TensorInfo* {
    return ctx.has_input(i) ? &ctx.input(i) : nullptr;
  };
  // Resize's inputs and attributes at the graph's opset (X, scales before opset 11).
  const ResizeSpec spec = resize_spec(n, ctx.opset(), ctx.input_dims(0), input, /*with_tables=*/false);
  ctx.set_output(0, ctx.input_dtype(0), spec.out);
}

std::unique_ptr<Kernel> prepare_qresize(const PrepareContext& ctx) {
  const Node& n = ctx.node;
  check_encodings(n, ctx.input(0), ctx.output(0));
  ResizeInputFn input = [&](size_t i) -> const TensorInfo* {
    return ctx.has_input(i) ? &ctx.input(i) : nullptr;
  };
  ResizeSpec spec = resize_spec(n, ctx.graph.opset, ctx.input_dims(0), input);
  const ActQuant q = act_quant(n, ctx.input(0), "input");
  kernels::QResizeParams p;
  p.geo = std::move(spec.params);
  p.type = ctx.input(0).dtype;
  // The extrapolation value quantized with the shared encoding (QuantizeLinear rounding).
  const float ev = n.attrs.get_float("extrapolation_value", 0.f);
  if (!std::isfinite(ev)) node_fail(n, "extrapolation_value must be finite");
  const double code = double(q.zero_point) + double(simd::round_half_even(ev / q.scale));
  p.extrapolation_code = kernels::clamp_code(
      int64_t(std::fmax(-1e9, std::fmin(1e9, code))), kernels::code8_min(p.type),
      kernels::code8_max(p.type));
  return ref_opt_kernel(
      std::move(p), use_reference(ctx), ctx.threads,
      {"qresize_reference",
       [](const auto& p, auto in, auto out, int) { kernels::qresize_reference(p, in[0].data, out[0].data); }},
      {"qresize_omp", [](const auto& p, auto in, auto out, int threads) {
         kernels::qresize(p, in[0].data, out[0].data, threads);
       }});
}

}  // namespace

void register_int_resize_ops(OpRegistry& r) {
  r.add({.name = "octet.QResize", .min_inputs = 1, .max_inputs = 4, .infer = infer_qresize,
         .prepare = prepare_qresize});
}

}  // namespace octet
