// octet.QAdd, octet.QMul (broadcasting 8-bit add / multiply), octet.Requantize and
// octet.QLookup: bindings of kernels/qeltwise.h, kernels/requantize_op.h, kernels/qlookup.h.
#include <cstring>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/q_common.h"
#include "engine/ops/ref_opt_kernel.h"
#include "kernels/qcodes.h"
#include "kernels/broadcast.h"
#include "kernels/qeltwise.h"
#include "kernels/qlookup.h"
#include "kernels/requantize_op.h"

namespace octet {
namespace {

using namespace qops;

// --- QAdd / QMul ------------------------------------------------------------------

void infer_qbinary(InferContext& ctx) {
  const Node& n = ctx.node();
  act_quant(n, ctx.input(0), "input A");
  act_quant(n, ctx.input(1), "input B");
  requant_scheme(n);
  op_arithmetic(n);
  Dims out;
  if (!kernels::broadcast_dims(ctx.input_dims(0), ctx.input_dims(1), &out))
    ctx.fail("inputs of shapes ", dims_to_string(ctx.input_dims(0)), " and ",
             dims_to_string(ctx.input_dims(1)), " do not broadcast");
  ctx.set_output(0, declared_output_dtype(ctx, 0, ctx.input_dtype(0)), out);
}

class QBinaryKernel final : public Kernel {
 public:
  QBinaryKernel(kernels::QBinaryParams p, bool reference, int threads)
      : p_(std::move(p)), reference_(reference), threads_(threads) {
    // Fixed point on large outputs: a table of all 65536 results (built with the same
    // element function) costs less than evaluating each element.
    int64_t numel = checked_numel(p_.y_dims);
    if (!reference_ && p_.arith == kernels::OpArithmetic::kRequantization &&
        p_.scheme != kernels::RequantScheme::kFp32 && numel >= (int64_t(1) << 16))
      table_ = kernels::qbinary_table(p_);
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (reference_) kernels::qbinary_reference(p_, in[0].data, in[1].data, out[0].data);
    else kernels::qbinary(p_, table_, in[0].data, in[1].data, out[0].data, threads_);
  }
  std::string_view impl_name() const override {
    const bool add = p_.op == kernels::QBinaryOp::kAdd;
    if (reference_) return add ? "qadd_reference" : "qmul_reference";
    if (!table_.empty()) return add ? "qadd_table" : "qmul_table";
    return add ? "qadd_hwy" : "qmul_hwy";
  }

 private:
  kernels::QBinaryParams p_;
  bool reference_;
  int threads_;
  std::vector<uint8_t> table_;
};

std::unique_ptr<Kernel> prepare_qbinary(const PrepareContext& ctx) {
  const Node& n = ctx.node;
  const ActQuant a = act_quant(n, ctx.input(0), "input A");
  const ActQuant b = act_quant(n, ctx.input(1), "input B");
  const ActQuant y = act_quant(n, ctx.output(0), "output");
  kernels::QBinaryParams p;
  p.op = n.op_type == "octet.QMul" ? kernels::QBinaryOp::kMul : kernels::QBinaryOp::kAdd;
  p.scheme = requant_scheme(n);
  p.arith = op_arithmetic(n);
  p.a_type = ctx.input(0).dtype;
  p.b_type = ctx.input(1).dtype;
  p.y_type = ctx.output(0).dtype;
  p.a_dims = ctx.input_dims(0);
  p.b_dims = ctx.input_dims(1);
  p.y_dims = ctx.output_dims(0);
  p.za = a.zero_point;
  p.zb = b.zero_point;
  p.zy = y.zero_point;
  const CodeRange r = output_code_range(n, y);
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  try {
    kernels::set_qbinary_scales(p, a.scale, b.scale, y.scale);
  } catch (const Error& e) {
    node_fail(n, e.what());
  }
  return std::make_unique<QBinaryKernel>(std::move(p), use_reference(ctx), ctx.threads);
}

// --- Requantize ---------------------------------------------------------------------

void infer_requantize(InferContext& ctx) {
  act_quant(ctx.node(), ctx.input(0), "input");
  requant_scheme(ctx.node());
  ctx.set_output(0, declared_output_dtype(ctx, 0, ctx.input_dtype(0)), ctx.input_dims(0));
}

std::unique_ptr<Kernel> prepare_requantize(const PrepareContext& ctx) {
  const Node& n = ctx.node;
  const ActQuant x = act_quant(n, ctx.input(0), "input");
  const ActQuant y = act_quant(n, ctx.output(0), "output");
  kernels::RequantizeParams p;
  p.scheme = requant_scheme(n);
  p.x_type = ctx.input(0).dtype;
  p.y_type = ctx.output(0).dtype;
  p.zx = x.zero_point;
  p.zy = y.zero_point;
  const CodeRange r = output_code_range(n, y);
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  try {
    kernels::set_requantize_scales(p, x.scale, y.scale);
  } catch (const Error& e) {
    node_fail(n, e.what());
  }
  return ref_opt_kernel(
      p, use_reference(ctx), ctx.threads,
      {"requantize_reference",
       [](const auto& p, auto in, auto out, int) {
         kernels::requantize_reference(p, in[0].data, out[0].data, in[0].numel());
       }},
      {"requantize_hwy", [](const auto& p, auto in, auto out, int threads) {
         kernels::requantize(p, in[0].data, out[0].data, in[0].numel(), threads);
       }});
}

// --- QLookup ------------------------------------------------------------------------

void infer_qlookup(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& table = ctx.input(1);
  if (!kernels::is_code8(x.dtype))
    ctx.fail("input '", x.name, "' must be u8 or i8, not ", dtype_name(x.dtype));
  if (!table.is_constant()) ctx.fail("the table '", table.name, "' must be a constant");
  if (!kernels::is_code8(table.dtype))
    ctx.fail("the table '", table.name, "' must be u8 or i8, not ", dtype_name(table.dtype));
  const Dims td = ctx.input_dims(1);
  if (checked_numel(td) != 256 || table.data->size() < 256)
    ctx.fail("the table '", table.name, "' must hold 256 codes, has shape ", dims_to_string(td));
  const DType declared = declared_output_dtype(ctx, 0, table.dtype);
  if (declared != table.dtype)
    ctx.fail("the output is ", dtype_name(declared), " but the table is ", dtype_name(table.dtype));
  ctx.set_output(0, table.dtype, ctx.input_dims(0));
}

class QLookupKernel final : public Kernel {
 public:
  QLookupKernel(DType x_type, const std::byte* table, bool reference, int threads)
      : x_type_(x_type), reference_(reference), vectorized_(kernels::qlookup_vectorized()),
        threads_(threads) {
    std::memcpy(table_, table, 256);
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (reference_) kernels::qlookup_reference(in[0].data, x_type_, table_, out[0].data, in[0].numel());
    else kernels::qlookup(in[0].data, x_type_, table_, out[0].data, in[0].numel(), threads_, vectorized_);
  }
  std::string_view impl_name() const override {
    return reference_ ? "qlookup_reference" : vectorized_ ? "qlookup_vbmi" : "qlookup_scalar";
  }

 private:
  DType x_type_;
  uint8_t table_[256];
  bool reference_;
  bool vectorized_;
  int threads_;
};

std::unique_ptr<Kernel> prepare_qlookup(const PrepareContext& ctx) {
  const TensorInfo& table = ctx.input(1);
  if (!table.is_constant() || table.data->size() < 256)
    node_fail(ctx.node, "the table must be a constant of 256 codes");
  return std::make_unique<QLookupKernel>(ctx.input(0).dtype, table.data->data(),
                                         use_reference(ctx), ctx.threads);
}

}  // namespace

void register_int_eltwise_ops(OpRegistry& r) {
  r.add({.name = "octet.QAdd", .min_inputs = 2, .max_inputs = 2, .infer = infer_qbinary,
         .prepare = prepare_qbinary});
  r.add({.name = "octet.QMul", .min_inputs = 2, .max_inputs = 2, .infer = infer_qbinary,
         .prepare = prepare_qbinary});
  r.add({.name = "octet.Requantize", .infer = infer_requantize, .prepare = prepare_requantize});
  r.add({.name = "octet.QLookup", .min_inputs = 2, .max_inputs = 2, .infer = infer_qlookup,
         .prepare = prepare_qlookup});
}

}  // namespace octet
