// Cast: element type conversion.
#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/movement_common.h"
#include "engine/ops/ref_opt_kernel.h"
#include "kernels/cast.h"
#include "kernels/copy.h"

namespace octet {
namespace {

// ONNX TensorProto.DataType code -> DType; fails for types octet does not have.
DType cast_target(const InferContext& ctx) {
  if (!ctx.attrs().has("to")) ctx.fail("attribute 'to' is required");
  const int64_t to = ctx.attrs().get_int("to", 0);
  switch (to) {
    case 1: return DType::kF32;
    case 2: return DType::kU8;
    case 3: return DType::kI8;
    case 4: return DType::kU16;
    case 5: return DType::kI16;
    case 6: return DType::kI32;
    case 7: return DType::kI64;
    case 9: return DType::kBool;
    case 10: return DType::kF16;
    case 11: return DType::kF64;
    case 12: return DType::kU32;
    case 13: return DType::kU64;
    case 8: ctx.fail("casting to string is not supported");
    case 16: ctx.fail("casting to bfloat16 is not supported");
    case 21: return DType::kU4;
    case 22: return DType::kI4;
    default: ctx.fail("casting to ONNX element type ", to, " is not supported");
  }
}

void infer_cast(InferContext& ctx) {
  const DType from = ctx.input_dtype(0), to = cast_target(ctx);
  if (!kernels::cast_supported(from, to))
    ctx.fail("casting from ", dtype_name(from), " to ", dtype_name(to), " is not supported");
  ctx.set_output(0, to, ctx.input_dims(0));
}

std::unique_ptr<Kernel> prepare_cast(const PrepareContext& ctx) {
  InferContext ic(ctx.graph, ctx.node, {});
  struct Types {
    DType from, to;
  };
  // A cast to the same type is a copy in both forms.
  return ref_opt_kernel(
      Types{ctx.input(0).dtype, cast_target(ic)}, ctx.reference, ctx.threads,
      {"cast_ref",
       [](const Types& t, auto in, auto out, int) {
         const int64_t n = in[0].numel();
         if (t.from == t.to) kernels::copy_bytes(in[0].data, out[0].data, dtype_storage_bytes(t.from, n), 1);
         else kernels::cast_reference(in[0].data, t.from, out[0].data, t.to, n);
       }},
      {"cast", [](const Types& t, auto in, auto out, int threads) {
         const int64_t n = in[0].numel();
         if (t.from == t.to) kernels::copy_bytes(in[0].data, out[0].data, dtype_storage_bytes(t.from, n), threads);
         else kernels::cast(in[0].data, t.from, out[0].data, t.to, n, threads);
       }});
}

}  // namespace

void register_movement_cast_ops(OpRegistry& r) {
  r.add({.name = "Cast", .infer = infer_cast, .prepare = prepare_cast,
         .layout = LayoutClass::kPointwiseUnary});
}

}  // namespace octet
