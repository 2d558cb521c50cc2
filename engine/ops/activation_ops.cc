// Unary pointwise ops: activations and elementwise math, plus Clip and PRelu.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "engine/op.h"
#include "engine/ops/eltwise_util.h"
#include "engine/ops/op_groups.h"
#include "kernels/binary.h"
#include "kernels/broadcast.h"
#include "kernels/unary.h"

namespace octet {
namespace {

using kernels::UnaryOp;
using kernels::UnaryParams;

// Which element types an op accepts besides f32.
enum class IntSupport { kNone, kSigned, kAll, kBoolOnly };

IntSupport int_support(UnaryOp op) {
  switch (op) {
    case UnaryOp::kRelu:
    case UnaryOp::kNeg: return IntSupport::kSigned;
    case UnaryOp::kAbs:
    case UnaryOp::kSign: return IntSupport::kAll;
    case UnaryOp::kNot: return IntSupport::kBoolOnly;
    default: return IntSupport::kNone;
  }
}

template <UnaryOp Op>
void infer_unary(InferContext& ctx) {
  const DType t = ctx.input_dtype(0);
  const IntSupport s = int_support(Op);
  bool ok = false;
  if (s == IntSupport::kBoolOnly) ok = t == DType::kBool;
  else if (t == DType::kF32) ok = true;
  else if (s == IntSupport::kSigned) ok = eltwise::is_signed_int_type(t);
  else if (s == IntSupport::kAll) ok = eltwise::is_int_type(t);
  if (!ok) ctx.fail("element type ", dtype_name(t), " is not supported");
  ctx.set_output(0, t, ctx.input_dims(0));
}

UnaryParams unary_params(UnaryOp op, const Node& node) {
  const Attributes& a = node.attrs;
  UnaryParams p;
  p.op = op;
  auto fail = [&](const std::string& what) { node_fail(node, what); };
  switch (op) {
    case UnaryOp::kLeakyRelu: p.alpha = a.get_float("alpha", 0.01f); break;
    case UnaryOp::kThresholdedRelu: p.alpha = a.get_float("alpha", 1.0f); break;
    case UnaryOp::kHardSigmoid:
      p.alpha = a.get_float("alpha", 0.2f);
      p.beta = a.get_float("beta", 0.5f);
      break;
    case UnaryOp::kElu: p.alpha = a.get_float("alpha", 1.0f); break;
    case UnaryOp::kSelu:
      p.alpha = a.get_float("alpha", 1.67326319217681884765625f);
      p.beta = a.get_float("gamma", 1.05070102214813232421875f);
      break;
    case UnaryOp::kGelu: {
      const std::string approx = a.get_string("approximate", "none");
      if (approx == "tanh") p.op = UnaryOp::kGeluTanh;
      else if (approx != "none") fail("approximate must be 'none' or 'tanh', got '" + approx + "'");
      break;
    }
    default: break;
  }
  return p;
}

class UnaryKernel final : public Kernel {
 public:
  UnaryKernel(UnaryParams p, DType t, bool reference, int threads)
      : p_(p), dtype_(t), reference_(reference), threads_(reference ? 1 : threads) {}

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const int64_t n = in[0].numel();
    if (dtype_ == DType::kF32) {
      if (reference_) kernels::unary_reference_f32(p_, in[0].as<float>(), out[0].as<float>(), n);
      else kernels::unary_optimized_f32(p_, in[0].as<float>(), out[0].as<float>(), n, threads_);
      return;
    }
    eltwise::dispatch_numeric(dtype_, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, float>)
        kernels::unary_int<T>(p_.op, in[0].as<T>(), out[0].as<T>(), n, threads_);
    });
  }
  std::string_view impl_name() const override {
    if (dtype_ != DType::kF32) return "unary_int";
    return reference_ ? "unary_f32_ref" : "unary_f32_hwy";
  }

 private:
  UnaryParams p_;
  DType dtype_;
  bool reference_;
  int threads_;
};

template <UnaryOp Op>
std::unique_ptr<Kernel> prepare_unary(const PrepareContext& ctx) {
  return std::make_unique<UnaryKernel>(unary_params(Op, ctx.node), ctx.input(0).dtype,
                                       ctx.reference, ctx.threads);
}

template <UnaryOp Op>
ScalarFn unary_scalar_fn(const Graph&, const Node& node) {
  const UnaryParams p = unary_params(Op, node);
  return [p](float v) { return kernels::unary_reference_one(p, v); };
}

// ---- Clip: min/max attributes before opset 11, optional scalar inputs from 11 ----------

void infer_clip(InferContext& ctx) {
  const DType t = ctx.input_dtype(0);
  if (ctx.opset() < 11) {
    if (t != DType::kF32) ctx.fail("element type ", dtype_name(t), " is not supported");
    if (ctx.num_inputs() > 1) ctx.fail("takes min/max as attributes before opset 11");
  } else {
    if (!eltwise::is_numeric_type(t)) ctx.fail("element type ", dtype_name(t), " is not supported");
    for (size_t i = 1; i < 3; ++i) {
      if (!ctx.has_input(i)) continue;
      if (ctx.input_dtype(i) != t)
        ctx.fail("input ", i, " must have the element type of the data, ", dtype_name(t));
      if (checked_numel(ctx.input_dims(i)) != 1) ctx.fail("input ", i, " (min/max) must be a scalar");
    }
  }
  ctx.set_output(0, t, ctx.input_dims(0));
}

class ClipKernel final : public Kernel {
 public:
  ClipKernel(DType t, float attr_min, float attr_max, bool reference, int threads)
      : dtype_(t), attr_min_(attr_min), attr_max_(attr_max), reference_(reference),
        threads_(reference ? 1 : threads) {}

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const int64_t n = in[0].numel();
    eltwise::dispatch_numeric(dtype_, [&](auto tag) {
      using T = decltype(tag);
      T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
      if constexpr (std::is_same_v<T, float>) {
        lo = attr_min_;
        hi = attr_max_;
      }
      if (in.size() > 1 && in[1].data) std::memcpy(&lo, in[1].data, sizeof(T));
      if (in.size() > 2 && in[2].data) std::memcpy(&hi, in[2].data, sizeof(T));
      if constexpr (std::is_same_v<T, float>) {
        const UnaryParams p{UnaryOp::kClip, lo, hi};
        if (reference_) kernels::unary_reference_f32(p, in[0].as<float>(), out[0].as<float>(), n);
        else kernels::unary_optimized_f32(p, in[0].as<float>(), out[0].as<float>(), n, threads_);
      } else {
        kernels::clip<T>(in[0].as<T>(), out[0].as<T>(), n, lo, hi, threads_);
      }
    });
  }
  std::string_view impl_name() const override {
    if (dtype_ != DType::kF32) return "clip_int";
    return reference_ ? "clip_f32_ref" : "clip_f32_hwy";
  }

 private:
  DType dtype_;
  float attr_min_, attr_max_;
  bool reference_;
  int threads_;
};

std::unique_ptr<Kernel> prepare_clip(const PrepareContext& ctx) {
  float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
  if (ctx.graph.opset < 11) {
    lo = ctx.node.attrs.get_float("min", lo);
    hi = ctx.node.attrs.get_float("max", hi);
  }
  return std::make_unique<ClipKernel>(ctx.input(0).dtype, lo, hi, ctx.reference, ctx.threads);
}

// Clip of a float tensor whose bounds are known before it runs (attributes, or constant
// scalar inputs); an absent bound is infinite.
ScalarFn clip_scalar_fn(const Graph& g, const Node& node) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (g.opset < 11) {
    lo = node.attrs.get_float("min", lo);
    hi = node.attrs.get_float("max", hi);
  } else {
    for (size_t i = 1; i < 3; ++i) {
      if (!node.has_input(i)) continue;
      const TensorInfo& t = g.tensor(node.inputs[i]);
      if (!t.is_constant() || t.dtype != DType::kF32 || !t.shape.is_concrete() ||
          checked_numel(t.shape.concrete()) != 1 || t.data->size() < sizeof(float))
        return {};
      std::memcpy(i == 1 ? &lo : &hi, t.data->data(), sizeof(float));
    }
  }
  const UnaryParams p{UnaryOp::kClip, lo, hi};
  return [p](float v) { return kernels::unary_reference_one(p, v); };
}

// ---- PRelu: slope broadcast unidirectionally to X ----------------------------------------

void infer_prelu(InferContext& ctx) {
  const DType t = ctx.input_dtype(0);
  if (!(t == DType::kF32 || eltwise::is_int_type(t)))
    ctx.fail("element type ", dtype_name(t), " is not supported");
  if (ctx.input_dtype(1) != t) ctx.fail("slope must have the element type of X, ", dtype_name(t));
  const Dims x = ctx.input_dims(0), slope = ctx.input_dims(1);
  if (!kernels::broadcasts_to(slope, x))
    ctx.fail("slope of shape ", dims_to_string(slope), " does not broadcast to X of shape ",
             dims_to_string(x));
  ctx.set_output(0, t, x);
}

class PReluKernel final : public Kernel {
 public:
  PReluKernel(DType t, Dims x, Dims slope, bool reference, int threads)
      : dtype_(t), x_(std::move(x)), slope_(std::move(slope)), reference_(reference),
        threads_(threads), plan_(kernels::make_broadcast_plan({x_, slope_}, x_)) {}

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    eltwise::dispatch_numeric(dtype_, [&](auto tag) {
      using T = decltype(tag);
      if (reference_)
        kernels::binary_reference<T, T, T>(kernels::BinaryOp::kPRelu, in[0].as<T>(), x_,
                                           in[1].as<T>(), slope_, out[0].as<T>(), x_);
      else
        kernels::binary_optimized<T, T, T>(kernels::BinaryOp::kPRelu, in[0].as<T>(),
                                           in[1].as<T>(), out[0].as<T>(), plan_, threads_);
    });
  }
  std::string_view impl_name() const override { return reference_ ? "prelu_ref" : "prelu_bcast"; }

 private:
  DType dtype_;
  Dims x_, slope_;
  bool reference_;
  int threads_;
  kernels::BroadcastPlan plan_;
};

std::unique_ptr<Kernel> prepare_prelu(const PrepareContext& ctx) {
  return std::make_unique<PReluKernel>(ctx.input(0).dtype, ctx.input_dims(0), ctx.input_dims(1),
                                       ctx.reference, ctx.threads);
}

template <UnaryOp Op>
OpSchema unary_schema(const char* name) {
  return OpSchema{.name = name, .infer = infer_unary<Op>, .prepare = prepare_unary<Op>,
                  .layout = LayoutClass::kPointwiseUnary,
                  .scalar_fn = Op == UnaryOp::kNot ? nullptr : unary_scalar_fn<Op>};
}

}  // namespace

void register_activation_ops(OpRegistry& r) {
  r.add(unary_schema<UnaryOp::kRelu>("Relu"));
  r.add(unary_schema<UnaryOp::kLeakyRelu>("LeakyRelu"));
  r.add(unary_schema<UnaryOp::kThresholdedRelu>("ThresholdedRelu"));
  r.add(unary_schema<UnaryOp::kHardSigmoid>("HardSigmoid"));
  r.add(unary_schema<UnaryOp::kHardSwish>("HardSwish"));
  r.add(unary_schema<UnaryOp::kMish>("Mish"));
  r.add(unary_schema<UnaryOp::kSigmoid>("Sigmoid"));
  r.add(unary_schema<UnaryOp::kTanh>("Tanh"));
  r.add(unary_schema<UnaryOp::kErf>("Erf"));
  r.add(unary_schema<UnaryOp::kExp>("Exp"));
  r.add(unary_schema<UnaryOp::kLog>("Log"));
  r.add(unary_schema<UnaryOp::kSqrt>("Sqrt"));
  r.add(unary_schema<UnaryOp::kNeg>("Neg"));
  r.add(unary_schema<UnaryOp::kAbs>("Abs"));
  r.add(unary_schema<UnaryOp::kReciprocal>("Reciprocal"));
  r.add(unary_schema<UnaryOp::kFloor>("Floor"));
  r.add(unary_schema<UnaryOp::kCeil>("Ceil"));
  r.add(unary_schema<UnaryOp::kRound>("Round"));
  r.add(unary_schema<UnaryOp::kSign>("Sign"));
  r.add(unary_schema<UnaryOp::kSoftplus>("Softplus"));
  r.add(unary_schema<UnaryOp::kSoftsign>("Softsign"));
  r.add(unary_schema<UnaryOp::kElu>("Elu"));
  r.add(unary_schema<UnaryOp::kSelu>("Selu"));
  r.add(unary_schema<UnaryOp::kGelu>("Gelu"));
  r.add(unary_schema<UnaryOp::kNot>("Not"));
  r.add({.name = "Clip", .min_inputs = 1, .max_inputs = 3, .infer = infer_clip,
         .prepare = prepare_clip, .layout = LayoutClass::kPointwiseUnary,
         .scalar_fn = clip_scalar_fn});
  r.add({.name = "PRelu", .min_inputs = 2, .max_inputs = 2, .infer = infer_prelu,
         .prepare = prepare_prelu, .layout = LayoutClass::kPointwiseBroadcast});
}

}  // namespace octet
