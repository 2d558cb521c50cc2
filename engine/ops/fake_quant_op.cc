// octet.QuantizeDequantize: the fake-quantization node QuantSim inserts at each enabled
// quantizer. Attributes: scale (floats), offset (ints, AIMET's: minus the zero point),
// qmin/qmax (the integer grid), axis (channel axis when per-channel, else absent).
#include <cmath>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/ref_opt_kernel.h"
#include "kernels/fake_quant.h"

namespace octet {
namespace {

kernels::FakeQuantParams read_params(const Node& node, const Dims& dims) {
  kernels::FakeQuantParams p;
  p.scale = node.attrs.get_floats("scale");
  std::vector<int64_t> offsets = node.attrs.get_ints("offset");
  p.qmin = static_cast<int32_t>(node.attrs.get_int("qmin", 0));
  p.qmax = static_cast<int32_t>(node.attrs.get_int("qmax", 255));
  if (p.scale.empty() || offsets.size() != p.scale.size())
    node_fail(node, "needs as many offsets as scales (and at least one)");
  if (p.qmin >= p.qmax || p.qmin < -(1 << 16) || p.qmax > (1 << 16))
    node_fail(node, "bad integer range [qmin, qmax]");
  for (float s : p.scale)
    if (!(s > 0.f) || !std::isfinite(s)) node_fail(node, "scales must be positive and finite");
  for (int64_t o : offsets) {
    if (o < -(1 << 16) || o > (1 << 16)) node_fail(node, "offset out of range");
    p.offset.push_back(static_cast<int32_t>(o));
  }
  if (p.scale.size() > 1) {
    int64_t axis = node.attrs.get_int("axis", -1);
    const int64_t rank = static_cast<int64_t>(dims.size());
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) node_fail(node, "axis out of range");
    p.channels = dims[axis];
    for (int64_t k = 0; k < axis; ++k) p.outer *= dims[k];
    for (int64_t k = axis + 1; k < rank; ++k) p.inner *= dims[k];
    p.block = node.attrs.get_int("block_size", 0);
    if (p.block < 0 || p.block > p.channels) node_fail(node, "block_size out of range");
    const int64_t expected =
        p.block ? p.outer * ((p.channels + p.block - 1) / p.block) * p.inner : p.channels;
    if (expected != static_cast<int64_t>(p.scale.size()))
      node_fail(node, p.block ? "per-block scale count does not match the blocked layout"
                            : "per-channel scale count does not match the axis dimension");
  }
  return p;
}

void infer(InferContext& ctx) {
  OCTET_NODE_CHECK(ctx, ctx.input_dtype(0) == DType::kF32, "input must be f32");
  read_params(ctx.node(), ctx.input_dims(0));
  ctx.set_output(0, DType::kF32, ctx.input_dims(0));
}

std::unique_ptr<Kernel> prepare(const PrepareContext& ctx) {
  return ref_opt_kernel(
      read_params(ctx.node, ctx.input_dims(0)), ctx.reference, ctx.threads,
      {"fake_quant_f32_reference",
       [](const auto& p, auto in, auto out, int) {
         kernels::fake_quant_f32_reference(p, in[0].template as<float>(), out[0].template as<float>(),
                                           in[0].numel());
       }},
      {"fake_quant_f32_hwy", [](const auto& p, auto in, auto out, int threads) {
         kernels::fake_quant_f32(p, in[0].template as<float>(), out[0].template as<float>(),
                                 in[0].numel(), threads);
       }});
}

}  // namespace

void register_fake_quant_op(OpRegistry& r) {
  r.add({.name = "octet.QuantizeDequantize", .infer = infer, .prepare = prepare});
}

}  // namespace octet
