// ONNX QuantizeLinear, DequantizeLinear (per-tensor, per-axis, blocked) and
// DynamicQuantizeLinear, as float-path ops (kernels/quantize_linear.h).
// Scale and zero point may be runtime inputs; float8/float4/int2 types are not supported
// (octet has no such dtypes: the loader already refuses them), nor non-f32 scales.
#include <cmath>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "kernels/quantize_linear.h"

namespace octet {
namespace {

DType onnx_quant_type(const InferContext& ctx, int64_t code) {
  switch (code) {
    case 2: return DType::kU8;
    case 3: return DType::kI8;
    case 4: return DType::kU16;
    case 5: return DType::kI16;
    case 21: return DType::kU4;
    case 22: return DType::kI4;
    case 17: case 18: case 19: case 20: case 23: case 24:
      ctx.fail("float8/float4 quantized types are not supported");
    default: ctx.fail("output_dtype ", code, " is not a supported quantized type");
  }
}

// x dims + scale dims + attributes -> the kernel layout. `fail` names the node.
template <typename Ctx>
kernels::QdqLayout layout_of(const Ctx& ctx, const Node& node, const Dims& x, const Dims& scale,
                             int64_t opset) {
  kernels::QdqLayout l;
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t count = checked_numel(x);
  int64_t scales = checked_numel(scale);
  const int64_t block = opset >= 21 ? node.attrs.get_int("block_size", 0) : 0;
  if (block < 0) ctx.fail("block_size must not be negative");
  if (scales == 1 && scale.size() <= 1 && block == 0) {  // per-tensor
    l.inner = count;
    return l;
  }
  int64_t axis = opset >= 13 ? node.attrs.get_int("axis", 1) : 1;
  if (axis < -rank || axis >= rank) ctx.fail("axis ", axis, " out of range for rank ", rank);
  if (axis < 0) axis += rank;
  l.channels = x[axis];
  for (int64_t k = 0; k < axis; ++k) l.outer *= x[k];
  for (int64_t k = axis + 1; k < rank; ++k) l.inner *= x[k];
  if (block == 0) {
    if (scale.size() != 1 || scale[0] != x[axis])
      ctx.fail("per-axis scale must be 1-D with ", x[axis], " values (axis ", axis, ")");
    l.granularity = kernels::QdqGranularity::kPerAxis;
    return l;
  }
  if (static_cast<int64_t>(scale.size()) != rank) ctx.fail("blocked scale must have the rank of x");
  for (int64_t k = 0; k < rank; ++k) {
    const int64_t want = k == axis ? (x[k] + block - 1) / block : x[k];
    if (scale[k] != want)
      ctx.fail("blocked scale dim ", k, " is ", scale[k], ", expected ", want, " (block_size ", block, ")");
  }
  l.granularity = kernels::QdqGranularity::kBlocked;
  l.block = block;
  return l;
}

struct PrepareFail {
  const Node& node;
  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    node_fail(node, parts...);
  }
};

void check_params(const InferContext& ctx, DType zp_type) {
  OCTET_NODE_CHECK(ctx, ctx.input_dtype(1) == DType::kF32, "scale must be f32, got ",
                   dtype_name(ctx.input_dtype(1)));
  if (ctx.has_input(2)) {
    OCTET_NODE_CHECK(ctx, ctx.input_dtype(2) == zp_type, "zero point type ",
                     dtype_name(ctx.input_dtype(2)), " differs from ", dtype_name(zp_type));
    // Equal shapes; a per-tensor scalar may pair with a one-element 1-D zero point.
    const Dims zd = ctx.input_dims(2), sd = ctx.input_dims(1);
    OCTET_NODE_CHECK(ctx, zd == sd || (checked_numel(zd) == 1 && checked_numel(sd) == 1 &&
                                       zd.size() <= 1 && sd.size() <= 1),
                     "zero point and scale shapes differ");
  }
  layout_of(ctx, ctx.node(), ctx.input_dims(0), ctx.input_dims(1), ctx.opset());
}

// ---- QuantizeLinear
void infer_quantize(InferContext& ctx) {
  OCTET_NODE_CHECK(ctx, ctx.input_dtype(0) == DType::kF32, "input must be f32, got ",
                   dtype_name(ctx.input_dtype(0)));
  DType out = DType::kU8;
  const bool has_out_attr = ctx.opset() >= 21 && ctx.attrs().has("output_dtype") &&
                            ctx.attrs().get_int("output_dtype", 0) != 0;
  if (has_out_attr) out = onnx_quant_type(ctx, ctx.attrs().get_int("output_dtype", 0));
  if (ctx.has_input(2)) {
    if (has_out_attr && ctx.input_dtype(2) != out) ctx.fail("output_dtype and zero point type differ");
    out = ctx.input_dtype(2);
  }
  OCTET_NODE_CHECK(ctx, kernels::qdq_int_type(out), "cannot quantize to ", dtype_name(out));
  check_params(ctx, out);
  ctx.set_output(0, out, ctx.input_dims(0));
}

class QuantizeKernel final : public Kernel {
 public:
  QuantizeKernel(kernels::QdqLayout l, DType out, bool reference, int threads, bool half_away)
      : l_(l), out_(out), reference_(reference), threads_(threads), half_away_(half_away) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const int64_t n = l_.params();
    const bool has_zp = in.size() > 2 && in[2].data;
    const std::vector<int32_t> zp = kernels::qdq_zero_points(out_, has_zp ? in[2].data : nullptr, n);
    if (half_away_) {
      quantize_half_away(in[0].as<float>(), in[1].as<float>()[0], zp[0], out[0].data);
      return;
    }
    if (reference_)
      kernels::quantize_linear_reference(l_, in[0].as<float>(), in[1].as<float>(), zp.data(), out_, out[0].data);
    else
      kernels::quantize_linear(l_, in[0].as<float>(), in[1].as<float>(), zp.data(), out_, out[0].data, threads_);
  }
  std::string_view impl_name() const override {
    if (half_away_) return "quantize_linear_half_away";
    return reference_ ? "quantize_linear_reference" : "quantize_linear_omp";
  }

 private:
  // TFLite's QUANTIZE: x / scale rounded half away from zero (std::round), + zp, saturated.
  void quantize_half_away(const float* x, float scale, int32_t zp, void* y) const {
    const float lo = float(kernels::qdq_min(out_)), hi = float(kernels::qdq_max(out_));
    const int64_t count = l_.count();
    for (int64_t i = 0; i < count; ++i) {
      float q = x[i] != x[i] ? float(zp) : std::round(x[i] / scale) + float(zp);
      q = q < lo ? lo : q > hi ? hi : q;
      switch (out_) {
        case DType::kI8: static_cast<int8_t*>(y)[i] = int8_t(q); break;
        case DType::kU16: static_cast<uint16_t*>(y)[i] = uint16_t(q); break;
        case DType::kI16: static_cast<int16_t*>(y)[i] = int16_t(q); break;
        default: static_cast<uint8_t*>(y)[i] = uint8_t(q); break;
      }
    }
  }

  kernels::QdqLayout l_;
  DType out_;
  bool reference_;
  int threads_;
  bool half_away_;
};

std::unique_ptr<Kernel> prepare_quantize(const PrepareContext& ctx) {
  const kernels::QdqLayout l =
      layout_of(PrepareFail{ctx.node}, ctx.node, ctx.input_dims(0), ctx.input_dims(1), ctx.graph.opset);
  // Internal attribute of the integer lowering (target profiles that round half away).
  const bool half_away = ctx.node.attrs.get_int("_round_half_away", 0) != 0;
  if (half_away) {
    const DType out = ctx.output(0).dtype;
    if (l.params() != 1 || (out != DType::kI8 && out != DType::kU8 && out != DType::kI16 &&
                            out != DType::kU16))
      node_fail(ctx.node, "_round_half_away needs a per-tensor 8- or 16-bit quantization");
  }
  return std::make_unique<QuantizeKernel>(l, ctx.output(0).dtype, ctx.reference, ctx.threads,
                                          half_away);
}

// ---- DequantizeLinear
void infer_dequantize(InferContext& ctx) {
  const DType in = ctx.input_dtype(0);
  OCTET_NODE_CHECK(ctx, kernels::qdq_int_type(in) || in == DType::kI32, "cannot dequantize ",
                   dtype_name(in));
  check_params(ctx, in);
  ctx.set_output(0, DType::kF32, ctx.input_dims(0));
}

class DequantizeKernel final : public Kernel {
 public:
  DequantizeKernel(kernels::QdqLayout l, DType in, bool reference, int threads)
      : l_(l), in_(in), reference_(reference), threads_(threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const int64_t n = l_.params();
    const bool has_zp = in.size() > 2 && in[2].data;
    const std::vector<int32_t> zp = kernels::qdq_zero_points(in_, has_zp ? in[2].data : nullptr, n);
    if (reference_)
      kernels::dequantize_linear_reference(l_, in_, in[0].data, in[1].as<float>(), zp.data(), out[0].as<float>());
    else
      kernels::dequantize_linear(l_, in_, in[0].data, in[1].as<float>(), zp.data(), out[0].as<float>(), threads_);
  }
  std::string_view impl_name() const override {
    return reference_ ? "dequantize_linear_reference" : "dequantize_linear_omp";
  }

 private:
  kernels::QdqLayout l_;
  DType in_;
  bool reference_;
  int threads_;
};

std::unique_ptr<Kernel> prepare_dequantize(const PrepareContext& ctx) {
  const kernels::QdqLayout l =
      layout_of(PrepareFail{ctx.node}, ctx.node, ctx.input_dims(0), ctx.input_dims(1), ctx.graph.opset);
  return std::make_unique<DequantizeKernel>(l, ctx.input(0).dtype, ctx.reference, ctx.threads);
}

// ---- DynamicQuantizeLinear
void infer_dynamic(InferContext& ctx) {
  OCTET_NODE_CHECK(ctx, ctx.input_dtype(0) == DType::kF32, "input must be f32");
  ctx.set_output(0, DType::kU8, ctx.input_dims(0));
  ctx.set_output(1, DType::kF32, {});
  ctx.set_output(2, DType::kU8, {});
}

class DynamicKernel final : public Kernel {
 public:
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    kernels::dynamic_quantize_linear(in[0].as<float>(), in[0].numel(), out[0].as<uint8_t>(),
                                     out[1].as<float>(), out[2].as<uint8_t>());
  }
  std::string_view impl_name() const override { return "dynamic_quantize_linear"; }
};

std::unique_ptr<Kernel> prepare_dynamic(const PrepareContext&) { return std::make_unique<DynamicKernel>(); }

}  // namespace

void register_qdq_ops(OpRegistry& r) {
  r.add({.name = "QuantizeLinear", .min_inputs = 2, .max_inputs = 3, .infer = infer_quantize,
         .prepare = prepare_quantize});
  r.add({.name = "DequantizeLinear", .min_inputs = 2, .max_inputs = 3, .infer = infer_dequantize,
         .prepare = prepare_dequantize});
  r.add({.name = "DynamicQuantizeLinear", .min_outputs = 3, .max_outputs = 3, .infer = infer_dynamic,
         .prepare = prepare_dynamic});
}

}  // namespace octet
