// Broadcasting elementwise ops: Add, Sub, Mul, Div, Pow, Mod, the variadic Max, Min, Sum,
// Mean, comparisons (bool output), And/Or/Xor, and Where.
#include <cstring>
#include <string>

#include "engine/op.h"
#include "engine/ops/eltwise_util.h"
#include "engine/ops/op_groups.h"
#include "kernels/binary.h"
#include "kernels/broadcast.h"
#include "kernels/copy.h"

namespace octet {
namespace {

using kernels::BinaryOp;
using kernels::BroadcastPlan;

Dims broadcast_all(InferContext& ctx) {
  Dims out = ctx.input_dims(0);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const Dims d = ctx.input_dims(i);
    Dims next;
    if (!kernels::broadcast_dims(out, d, &next))
      ctx.fail("input shapes do not broadcast: ", dims_to_string(out), " and input ", i, " ",
               dims_to_string(d));
    out = std::move(next);
  }
  return out;
}

// Element types each op family accepts.
void check_types(InferContext& ctx, BinaryOp op) {
  const DType a = ctx.input_dtype(0);
  if (op == BinaryOp::kPow) {
    const DType b = ctx.input_dtype(1);
    if (!(a == DType::kF32 || a == DType::kI32 || a == DType::kI64))
      ctx.fail("base element type ", dtype_name(a), " is not supported");
    if (!eltwise::is_numeric_type(b))
      ctx.fail("exponent element type ", dtype_name(b), " is not supported");
    return;
  }
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.input_dtype(i) != a)
      ctx.fail("inputs must share one element type: ", dtype_name(a), " and ",
               dtype_name(ctx.input_dtype(i)));
  bool ok;
  if (kernels::binary_is_logical(op)) ok = a == DType::kBool;
  else if (kernels::binary_is_comparison(op)) ok = eltwise::is_numeric_type(a) || a == DType::kBool;
  else ok = eltwise::is_numeric_type(a);
  if (!ok) ctx.fail("element type ", dtype_name(a), " is not supported");
}

DType output_type(BinaryOp op, DType a) {
  return kernels::binary_is_comparison(op) || kernels::binary_is_logical(op) ? DType::kBool : a;
}

BinaryOp mod_op(const Attributes& attrs) {
  return attrs.get_int("fmod", 0) != 0 ? BinaryOp::kFmod : BinaryOp::kMod;
}

template <BinaryOp Op>
void infer_binary(InferContext& ctx) {
  check_types(ctx, Op);
  if (Op == BinaryOp::kMod) {
    const int64_t fmod = ctx.attrs().get_int("fmod", 0);
    if (fmod != 0 && fmod != 1) ctx.fail("fmod must be 0 or 1, got ", fmod);
    if (fmod == 0 && ctx.input_dtype(0) == DType::kF32)
      ctx.fail("fmod must be 1 for floating-point inputs");
  }
  ctx.set_output(0, output_type(Op, ctx.input_dtype(0)), broadcast_all(ctx));
}

// Calls fn(TA{}, TB{}, TO{}) for the types of an op; false where no kernel exists.
template <class Fn>
bool dispatch_types(BinaryOp op, DType a, DType b, Fn&& fn) {
  bool found = false;
  if (op == BinaryOp::kPow && a != b) {
    auto with_b = [&](auto ta) {
      using TA = decltype(ta);
      if constexpr (std::is_same_v<TA, float> || std::is_same_v<TA, int32_t> ||
                    std::is_same_v<TA, int64_t>) {
        eltwise::dispatch_numeric(b, [&](auto tb) {
          fn(ta, tb, ta);
          found = true;
        });
      }
    };
    eltwise::dispatch_numeric(a, with_b);
    return found;
  }
  eltwise::dispatch_numeric(a, [&](auto t) {
    using T = decltype(t);
    if (kernels::binary_is_comparison(op)) fn(t, t, uint8_t{});
    else if constexpr (std::is_same_v<T, uint8_t>) fn(t, t, uint8_t{});
    else if (!kernels::binary_is_logical(op)) fn(t, t, t);
    else return;
    found = true;
  });
  return found;
}

// One step of a (possibly variadic) elementwise op: out = a op b, broadcast to out_dims.
struct Step {
  Dims a_dims, b_dims;
  BroadcastPlan plan;
  int a_input;  // index of the node input read as a, or -1: the output so far
  int b_input;
};

class BinaryKernel final : public Kernel {
 public:
  BinaryKernel(BinaryOp op, DType a, DType b, Dims out_dims, std::vector<Dims> in_dims,
               bool mean, bool reference, int threads)
      : op_(op), a_(a), b_(b), out_dims_(std::move(out_dims)), mean_(mean),
        reference_(reference), threads_(reference ? 1 : threads) {
    const int n = static_cast<int>(in_dims.size());
    if (n >= 2) {
      steps_.push_back({in_dims[0], in_dims[1], {}, 0, 1});
      for (int i = 2; i < n; ++i) steps_.push_back({out_dims_, in_dims[i], {}, -1, i});
      for (Step& s : steps_) s.plan = kernels::make_broadcast_plan({s.a_dims, s.b_dims}, out_dims_);
    }
    count_ = n;
  }

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (count_ == 1) {  // Sum/Max/Min/Mean of one input: a copy
      kernels::copy_bytes(in[0].data, out[0].data, dtype_storage_bytes(a_, in[0].numel()),
                          threads_);
      return;
    }
    dispatch_types(op_, a_, b_, [&](auto ta, auto tb, auto to) {
      using TA = decltype(ta);
      using TB = decltype(tb);
      using TO = decltype(to);
      TO* o = out[0].as<TO>();
      for (const Step& s : steps_) {
        const TA* pa = s.a_input < 0 ? reinterpret_cast<const TA*>(o) : in[s.a_input].as<TA>();
        const TB* pb = in[s.b_input].as<TB>();
        if (reference_)
          kernels::binary_reference<TA, TB, TO>(op_, pa, s.a_dims, pb, s.b_dims, o, out_dims_);
        else
          kernels::binary_optimized<TA, TB, TO>(op_, pa, pb, o, s.plan, threads_);
      }
      if constexpr (std::is_same_v<TO, float>) {
        if (mean_) {
          const int64_t n = out[0].numel();
          const float k = static_cast<float>(count_);
          for (int64_t i = 0; i < n; ++i) o[i] /= k;
        }
      }
    });
  }
  std::string_view impl_name() const override {
    if (reference_) return "eltwise_ref";
    return a_ == DType::kF32 && b_ == DType::kF32 ? "eltwise_bcast_f32_hwy" : "eltwise_bcast";
  }

 private:
  BinaryOp op_;
  DType a_, b_;
  Dims out_dims_;
  bool mean_;
  bool reference_;
  int threads_;
  int count_ = 0;
  std::vector<Step> steps_;
};

std::unique_ptr<Kernel> make_kernel(const PrepareContext& ctx, BinaryOp op, bool mean) {
  std::vector<Dims> dims;
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) dims.push_back(ctx.input_dims(i));
  const DType a = ctx.input(0).dtype;
  const DType b = ctx.node.inputs.size() > 1 ? ctx.input(1).dtype : a;
  return std::make_unique<BinaryKernel>(op, a, b, ctx.output_dims(0), std::move(dims), mean,
                                        ctx.reference, ctx.threads);
}

template <BinaryOp Op>
std::unique_ptr<Kernel> prepare_binary(const PrepareContext& ctx) {
  return make_kernel(ctx, Op == BinaryOp::kMod ? mod_op(ctx.node.attrs) : Op, false);
}

void infer_mean(InferContext& ctx) {
  check_types(ctx, BinaryOp::kAdd);
  if (ctx.input_dtype(0) != DType::kF32) ctx.fail("element type must be float");
  ctx.set_output(0, DType::kF32, broadcast_all(ctx));
}

std::unique_ptr<Kernel> prepare_mean(const PrepareContext& ctx) {
  return make_kernel(ctx, BinaryOp::kAdd, true);
}

// ---- Where ---------------------------------------------------------------------------------

void infer_where(InferContext& ctx) {
  if (ctx.input_dtype(0) != DType::kBool) ctx.fail("condition must be bool");
  const DType t = ctx.input_dtype(1);
  if (ctx.input_dtype(2) != t) ctx.fail("X and Y must share one element type");
  const size_t size = dtype_size(t);
  if (!(size == 1 || size == 2 || size == 4 || size == 8))
    ctx.fail("element type ", dtype_name(t), " is not supported");
  ctx.set_output(0, t, broadcast_all(ctx));
}

class WhereKernel final : public Kernel {
 public:
  WhereKernel(size_t elem, std::vector<Dims> in, Dims out, bool reference, int threads)
      : elem_(elem), in_(std::move(in)), out_(std::move(out)), reference_(reference),
        threads_(threads), plan_(kernels::make_broadcast_plan(in_, out_)) {}

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    auto go = [&](auto tag) {
      using T = decltype(tag);
      const uint8_t* c = in[0].as<uint8_t>();
      if (reference_)
        kernels::where_reference<T>(c, in_[0], in[1].as<T>(), in_[1], in[2].as<T>(), in_[2],
                                    out[0].as<T>(), out_);
      else
        kernels::where_optimized<T>(c, in[1].as<T>(), in[2].as<T>(), out[0].as<T>(), plan_,
                                    threads_);
    };
    switch (elem_) {
      case 1: go(uint8_t{}); break;
      case 2: go(uint16_t{}); break;
      case 4: go(uint32_t{}); break;
      default: go(uint64_t{}); break;
    }
  }
  std::string_view impl_name() const override { return reference_ ? "where_ref" : "where_bcast"; }

 private:
  size_t elem_;
  std::vector<Dims> in_;
  Dims out_;
  bool reference_;
  int threads_;
  BroadcastPlan plan_;
};

std::unique_ptr<Kernel> prepare_where(const PrepareContext& ctx) {
  return std::make_unique<WhereKernel>(
      dtype_size(ctx.input(1).dtype),
      std::vector<Dims>{ctx.input_dims(0), ctx.input_dims(1), ctx.input_dims(2)},
      ctx.output_dims(0), ctx.reference, ctx.threads);
}

template <BinaryOp Op>
OpSchema binary_schema(const char* name) {
  return OpSchema{.name = name, .min_inputs = 2, .max_inputs = 2, .infer = infer_binary<Op>,
                  .prepare = prepare_binary<Op>, .layout = LayoutClass::kPointwiseBroadcast};
}

template <BinaryOp Op>
OpSchema variadic_schema(const char* name) {
  return OpSchema{.name = name, .min_inputs = 1, .max_inputs = 1 << 16,
                  .infer = infer_binary<Op>, .prepare = prepare_binary<Op>,
                  .layout = LayoutClass::kPointwiseBroadcast};
}

}  // namespace

void register_binary_ops(OpRegistry& r) {
  r.add(binary_schema<BinaryOp::kAdd>("Add"));
  r.add(binary_schema<BinaryOp::kSub>("Sub"));
  r.add(binary_schema<BinaryOp::kMul>("Mul"));
  r.add(binary_schema<BinaryOp::kDiv>("Div"));
  r.add(binary_schema<BinaryOp::kPow>("Pow"));
  r.add(binary_schema<BinaryOp::kMod>("Mod"));
  r.add(binary_schema<BinaryOp::kEqual>("Equal"));
  r.add(binary_schema<BinaryOp::kLess>("Less"));
  r.add(binary_schema<BinaryOp::kLessOrEqual>("LessOrEqual"));
  r.add(binary_schema<BinaryOp::kGreater>("Greater"));
  r.add(binary_schema<BinaryOp::kGreaterOrEqual>("GreaterOrEqual"));
  r.add(binary_schema<BinaryOp::kAnd>("And"));
  r.add(binary_schema<BinaryOp::kOr>("Or"));
  r.add(binary_schema<BinaryOp::kXor>("Xor"));
  r.add(variadic_schema<BinaryOp::kMax>("Max"));
  r.add(variadic_schema<BinaryOp::kMin>("Min"));
  r.add(variadic_schema<BinaryOp::kAdd>("Sum"));
  r.add({.name = "Mean", .min_inputs = 1, .max_inputs = 1 << 16, .infer = infer_mean,
         .prepare = prepare_mean, .layout = LayoutClass::kPointwiseBroadcast});
  r.add({.name = "Where", .min_inputs = 3, .max_inputs = 3, .infer = infer_where,
         .prepare = prepare_where, .layout = LayoutClass::kPointwiseBroadcast});
}

}  // namespace octet
