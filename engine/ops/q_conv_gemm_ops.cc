// octet.QConv, octet.QGemm, octet.QMatMul: integer convolution and matrix products of the
// lowered graph (conventions: engine/passes/lower_integer.h).
//
// `int` mode runs the integer kernels (kernels/qconv.h, kernels/qgemm.h); `exact` mode the same
// arithmetic by the float kernels on integer-valued data (kernels/qexact.h). Same bits.

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "engine/ops/nn_common.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/q_common.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "kernels/qconv.h"
#include "kernels/qconv_blockwise.h"
#include "kernels/qexact.h"
#include "kernels/qgemm.h"

namespace octet {
namespace {

using qops::ActQuant;

bool use_exact(const PrepareContext& ctx) { return ctx.mode == ExecutionMode::kExact; }

void require_codes(const InferContext& ctx, size_t i, const char* what) {
  const DType t = ctx.input_dtype(i);
  if (t != DType::kU8 && t != DType::kI8 && !qops::is_code16(t))
    ctx.fail(what, " must hold u8, i8, u16 or i16 codes, not ", dtype_name(t));
}

// W8A16: the input or the output holds 16-bit codes (engine/ops/q_conv_gemm16_ops.cc).
bool is_wide(const Node& node, DType input) {
  return qops::is_code16(input) || qops::is_code16(qops::out_code_type(node, input));
}

void require_weights(const InferContext& ctx, size_t i) {
  const DType t = ctx.input_dtype(i);
  if (!ctx.input_is_constant(i) || (t != DType::kI8 && t != DType::kI4))
    ctx.fail("weights must be an i8 or i4 constant");
}

void require_bias(const InferContext& ctx, size_t i, int64_t count) {
  if (!ctx.has_input(i)) return;
  const bool i64_ok = is_wide(ctx.node(), ctx.input_dtype(0)) && ctx.input_dtype(i) == DType::kI64;
  if (!ctx.input_is_constant(i) || (ctx.input_dtype(i) != DType::kI32 && !i64_ok))
    ctx.fail("bias must be an i32 constant (i64 allowed with 16-bit codes)");
  if (checked_numel(ctx.input_dims(i)) != count) ctx.fail("bias must have ", count, " values");
}

// ---- QConv ---------------------------------------------------------------------------------

void infer_qconv(InferContext& ctx) {
  require_codes(ctx, 0, "input X");
  require_weights(ctx, 1);
  if (!nn::is_nhwc(ctx.node())) ctx.fail("integer convolution runs channels-last: _layout must be NHWC");
  nn::ConvGeom g = nn::conv_geom(ctx.node(), ctx.input_dims(0), ctx.input_dims(1), false);
  if (ctx.input(1).quant.block_size > 0) {  // per-block weights take a real-valued f32 bias
    if (ctx.has_input(2) && (!ctx.input_is_constant(2) || ctx.input_dtype(2) != DType::kF32 ||
                             checked_numel(ctx.input_dims(2)) != g.p.M))
      ctx.fail("with per-block weights the bias is an f32 constant of ", g.p.M, " values");
  } else {
    require_bias(ctx, 2, g.p.M);
  }
  ctx.set_output(0, qops::out_code_type(ctx.node(), ctx.input_dtype(0)), g.out);
}

// Packed int4 weights as stored (two a byte, low nibble first), empty for i8 weights.
std::vector<uint8_t> int4_nibbles(const TensorInfo& w) {
  if (w.dtype != DType::kI4) return {};
  const auto* b = reinterpret_cast<const uint8_t*>(w.data->data());
  return std::vector<uint8_t>(b, b + dtype_storage_bytes(DType::kI4, checked_numel(w.shape.concrete())));
}

struct QConvSetup {
  kernels::ConvParams p;
  kernels::QConvQuant q;
  ActQuant x, y;
  std::vector<int8_t> w;
  std::vector<uint8_t> w4;  // the same weights as nibbles, for int4 models
  std::vector<int32_t> bias;
};

QConvSetup qconv_setup(const PrepareContext& ctx) {
  const Node& node = ctx.node;
  QConvSetup s;
  s.p = nn::conv_geom(node, ctx.input_dims(0), ctx.input_dims(1), false).p;
  s.x = qops::act_quant(node, ctx.input(0));
  s.y = qops::act_quant(node, ctx.output(0));
  if (s.y.type != s.x.type) node_fail(node, "output codes must have the input's type");
  s.w = qops::weight_codes(node, ctx.input(1));
  s.w4 = int4_nibbles(ctx.input(1));
  const std::vector<float> ws = qops::weight_scales(node, ctx.input(1), s.p.M, 0);
  if (ctx.has_input(2)) s.bias = qops::bias_codes(node, ctx.input(2), s.p.M);
  s.q.x_signed = s.x.is_signed();
  s.q.x_zero_point = s.x.zero_point;
  s.q.out_type = s.y.type;
  s.q.requant = qops::make_requantizer(node, qops::requant_scheme(node), s.x, ws, s.y);
  return s;
}

class QConvIntKernel final : public Kernel {
 public:
  QConvIntKernel(QConvSetup s, int threads, bool reference) : s_(std::move(s)) {
    if (reference) return;
    if (!s_.w4.empty())  // W4A8: the kernel keeps the nibbles
      impl_ = std::make_unique<kernels::QConv2dNhwc>(s_.p, s_.q, kernels::Int4Weights{s_.w4.data()},
                                                     bias(), threads, kernels::qgemm_best_isa());
    else
      impl_ = std::make_unique<kernels::QConv2dNhwc>(s_.p, s_.q, s_.w.data(), bias(), threads,
                                                     kernels::qgemm_best_isa());
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (impl_) impl_->run(in[0].data, out[0].data);
    else kernels::qconv2d_reference(s_.p, s_.q, in[0].data, s_.w.data(), bias(), out[0].data);
  }
  std::string_view impl_name() const override {
    return impl_ ? impl_->impl_name() : std::string_view("qconv_reference");
  }

 private:
  const int32_t* bias() const { return s_.bias.empty() ? nullptr : s_.bias.data(); }
  QConvSetup s_;
  std::unique_ptr<kernels::QConv2dNhwc> impl_;
};

class QConvExactKernel final : public Kernel {
 public:
  QConvExactKernel(QConvSetup s, int threads)
      : s_(std::move(s)),
        exact_(s_.p, s_.q, s_.w.data(), s_.bias.empty() ? nullptr : s_.bias.data(), threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    exact_.run(in[0].data, out[0].data);
  }
  std::string_view impl_name() const override { return exact_.impl_name(); }

 private:
  QConvSetup s_;
  kernels::QConvExact exact_;
};

std::unique_ptr<Kernel> prepare_qconv_blockwise(const PrepareContext& ctx);

std::unique_ptr<Kernel> prepare_qconv(const PrepareContext& ctx) {
  if (is_wide(ctx.node, ctx.input(0).dtype)) return qops::prepare_qconv16(ctx);
  if (ctx.input(1).quant.block_size > 0) return prepare_qconv_blockwise(ctx);
  QConvSetup s = qconv_setup(ctx);
  if (use_exact(ctx)) return std::make_unique<QConvExactKernel>(std::move(s), ctx.threads);
  return std::make_unique<QConvIntKernel>(std::move(s), ctx.threads, ctx.reference);
}

// ---- QConv with per-block int4 weights (kernels/qconv_blockwise.h) ------------------------
// Weights i4 [M][C/g][KH][KW], scales on axis 1 in blocks of 32, 64 or 128 (blocked layout
// [M][C/g/block][KH][KW]), zero points 0; an optional f32 bias (real values). `int` runs the
// optimized kernel (the reference one when asked), `exact` the reference loops: same bits.

struct QConvBlockwiseSetup {
  kernels::ConvParams p;
  ActQuant x, y;
  std::vector<uint8_t> w4;
  std::vector<float> scales, bias_f;
  kernels::QConvBlockwiseQuant q;  // pointers into this setup: refreshed by quant()
  kernels::QConvBlockwiseQuant quant() const {
    kernels::QConvBlockwiseQuant r = q;
    r.w_scale = scales.data();
    r.bias_f = bias_f.empty() ? nullptr : bias_f.data();
    return r;
  }
};

QConvBlockwiseSetup qconv_blockwise_setup(const PrepareContext& ctx) {
  const Node& node = ctx.node;
  const TensorInfo& w = ctx.input(1);
  const QuantParams& wq = w.quant;
  QConvBlockwiseSetup s;
  s.p = nn::conv_geom(node, ctx.input_dims(0), ctx.input_dims(1), false).p;
  s.x = qops::act_quant(node, ctx.input(0));
  s.y = qops::act_quant(node, ctx.output(0));
  if (s.y.type != s.x.type) node_fail(node, "output codes must have the input's type");
  if (s.x.type != DType::kU8 && s.x.type != DType::kI8)
    node_fail(node, "per-block weights run with 8-bit (u8 / i8) activation codes");
  const std::string why = kernels::qconv_blockwise_unsupported(s.p, wq.block_size);
  if (!why.empty()) node_fail(node, "per-block weights: ", why);
  const int64_t Cb = (s.p.C / s.p.group) / wq.block_size;
  if (w.dtype != DType::kI4 || !w.is_constant() || wq.axis != 1 ||
      int64_t(wq.scale.size()) != s.p.M * Cb * s.p.KH * s.p.KW ||
      wq.zero_point.size() != wq.scale.size())
    node_fail(node, "per-block weights must be an i4 constant [M, C/group, KH, KW] with ",
                  "M * C/group / block * KH * KW scales along axis 1");
  for (size_t i = 0; i < wq.scale.size(); ++i)
    if (!(std::isfinite(wq.scale[i]) && wq.scale[i] > 0.f) || wq.zero_point[i] != 0)
      node_fail(node, "per-block weight scales must be finite and positive, zero points 0");
  if (!w.data || w.data->size() < dtype_storage_bytes(DType::kI4, checked_numel(w.shape.concrete())))
    node_fail(node, "weights '", w.name, "' are truncated");
  s.w4 = int4_nibbles(w);
  s.scales = wq.scale;
  if (ctx.has_input(2)) {
    const TensorInfo& b = ctx.input(2);
    if (b.dtype != DType::kF32 || !b.is_constant())
      node_fail(node, "with per-block weights the bias is an f32 constant");
    const std::vector<float> real = nn::const_floats(node, b);
    if (int64_t(real.size()) != s.p.M) node_fail(node, "bias must have ", s.p.M, " values");
    for (float v : real) s.bias_f.push_back(v / s.y.scale);
  }
  s.q.x_signed = s.x.is_signed();
  s.q.x_zero_point = s.x.zero_point;
  s.q.block = wq.block_size;
  s.q.m = s.x.scale / s.y.scale;
  s.q.zero_point = s.y.zero_point;
  qops::fused_clamp(node, s.y, &s.q.qmin, &s.q.qmax);
  s.q.out_type = s.y.type;
  return s;
}

class QConvBlockwiseKernel final : public Kernel {
 public:
  QConvBlockwiseKernel(QConvBlockwiseSetup s, int threads, bool reference, bool exact)
      : s_(std::move(s)), threads_(threads), exact_(exact) {
    if (reference) return;
    impl_ = std::make_unique<kernels::QConvBlockwiseNhwc>(s_.p, s_.quant(), s_.w4.data(), threads,
                                                          kernels::qgemm_best_isa());
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (impl_) impl_->run(in[0].data, out[0].data);
    else kernels::qconv2d_blockwise_reference(s_.p, s_.quant(), in[0].data, s_.w4.data(),
                                              out[0].data, threads_);
  }
  std::string_view impl_name() const override {
    if (impl_) return impl_->impl_name();
    return exact_ ? "qconv_blockwise_exact" : "qconv_blockwise_reference";
  }

 private:
  QConvBlockwiseSetup s_;
  int threads_;
  bool exact_;
  std::unique_ptr<kernels::QConvBlockwiseNhwc> impl_;
};

std::unique_ptr<Kernel> prepare_qconv_blockwise(const PrepareContext& ctx) {
  const bool exact = use_exact(ctx);
  return std::make_unique<QConvBlockwiseKernel>(qconv_blockwise_setup(ctx), ctx.threads,
                                                ctx.reference || exact, exact);
}

// ---- QGemm / QMatMul: Y[..., N] = A[..., K] x W^T, W stored [N][K] --------------------------

void infer_qlinear(InferContext& ctx) {
  require_codes(ctx, 0, "input A");
  require_weights(ctx, 1);
  const Dims a = ctx.input_dims(0), w = ctx.input_dims(1);
  const bool gemm = ctx.node().op_type == "octet.QGemm";
  if (gemm ? a.size() != 2 : a.size() < 1) ctx.fail("input A has rank ", a.size());
  if (w.size() != 2) ctx.fail("weights must be 2-D [N, K], are ", dims_to_string(w));
  if (a.back() != w[1])
    ctx.fail("input A ", dims_to_string(a), " does not match weights ", dims_to_string(w));
  if (ctx.input(1).quant.block_size > 0) {  // per-block weights take a real-valued f32 bias
    if (ctx.has_input(2) && (!ctx.input_is_constant(2) || ctx.input_dtype(2) != DType::kF32 ||
                             checked_numel(ctx.input_dims(2)) != w[0]))
      ctx.fail("with per-block weights the bias is an f32 constant of ", w[0], " values");
  } else {
    require_bias(ctx, 2, w[0]);
  }
  Dims out = a;
  out.back() = w[0];
  ctx.set_output(0, qops::out_code_type(ctx.node(), ctx.input_dtype(0)), out);
}

struct QLinearSetup {
  int64_t M = 0, N = 0, K = 0;
  ActQuant x, y;
  std::vector<int8_t> w;
  std::vector<uint8_t> w4;  // nibbles, for int4 weights
  std::vector<int32_t> bias;
  kernels::Requantizer rq;
  // Per-block weights (QGemmBlockwise's arithmetic): scales [N][K / block], float bias / y_scale.
  int64_t block = 0;
  std::vector<float> block_scales, bias_f;
  kernels::QGemmBlockwise blockwise() const {
    kernels::QGemmBlockwise b;
    b.block = block;
    b.w_scale = block_scales.data();
    b.m = x.scale / y.scale;
    b.bias_f = bias_f.empty() ? nullptr : bias_f.data();
    b.zero_point = rq.zero_point;
    b.qmin = rq.qmin;
    b.qmax = rq.qmax;
    b.out_type = y.type;
    return b;
  }
};

// Per-block int4 weights: [N][K] nibbles, scales on axis 1 in blocks of 32, 64 or 128, an
// optional f32 bias (real values).
QLinearSetup blockwise_setup(const PrepareContext& ctx, QLinearSetup s) {
  const Node& node = ctx.node;
  const TensorInfo& w = ctx.input(1);
  const QuantParams& q = w.quant;
  s.block = q.block_size;
  if (w.dtype != DType::kI4 || q.axis != 1 || (s.block != 32 && s.block != 64 && s.block != 128) ||
      s.K % s.block != 0 || int64_t(q.scale.size()) != s.N * (s.K / s.block))
    node_fail(node, "per-block weights must be i4 [N, K] with blocks of 32, 64 or 128 along K ",
                  "and N * K / block scales");
  for (size_t i = 0; i < q.scale.size(); ++i)
    if (!(std::isfinite(q.scale[i]) && q.scale[i] > 0.f) || q.zero_point[i] != 0)
      node_fail(node, "per-block weight scales must be finite and positive, zero points 0");
  s.block_scales = q.scale;
  if (ctx.has_input(2)) {
    const TensorInfo& b = ctx.input(2);
    if (b.dtype != DType::kF32 || !b.is_constant())
      node_fail(node, "with per-block weights the bias is an f32 constant");
    const std::vector<float> real = nn::const_floats(node, b);
    if (int64_t(real.size()) != s.N) node_fail(node, "bias must have ", s.N, " values");
    for (float v : real) s.bias_f.push_back(v / s.y.scale);
  }
  s.rq.zero_point = s.y.zero_point;
  qops::fused_clamp(node, s.y, &s.rq.qmin, &s.rq.qmax);
  return s;
}

QLinearSetup qlinear_setup(const PrepareContext& ctx) {
  const Node& node = ctx.node;
  QLinearSetup s;
  const Dims a = ctx.input_dims(0), w = ctx.input_dims(1);
  s.N = w[0];
  s.K = w[1];
  s.M = s.K ? checked_numel(a) / s.K : 0;
  s.x = qops::act_quant(node, ctx.input(0));
  s.y = qops::act_quant(node, ctx.output(0));
  if (s.y.type != s.x.type) node_fail(node, "output codes must have the input's type");
  s.w = qops::weight_codes(node, ctx.input(1));
  s.w4 = int4_nibbles(ctx.input(1));
  const QuantParams& wq = ctx.input(1).quant;
  if (wq.block_size > 0) return blockwise_setup(ctx, std::move(s));
  const std::vector<float> ws = qops::weight_scales(node, ctx.input(1), s.N, 0);
  if (ctx.has_input(2)) s.bias = qops::bias_codes(node, ctx.input(2), s.N);
  s.rq = qops::make_requantizer(node, qops::requant_scheme(node), s.x, ws, s.y);
  return s;
}

class QLinearIntKernel final : public Kernel {
 public:
  QLinearIntKernel(QLinearSetup s, int threads, bool reference)
      : s_(std::move(s)), threads_(threads) {
    if (reference) return;
    if (!s_.w4.empty())
      packed_.emplace(kernels::QGemmPackedB::from_int4(s_.w4.data(), s_.N, s_.K, kernels::qgemm_best_isa()));
    else
      packed_.emplace(s_.w.data(), s_.N, s_.K, kernels::qgemm_best_isa());
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    kernels::QGemmA a{in[0].data, s_.K, s_.x.is_signed(), s_.x.zero_point};
    kernels::QGemmEpilogue ep{s_.bias.empty() ? nullptr : s_.bias.data(), &s_.rq, s_.y.type};
    const kernels::QGemmBlockwise bw = s_.blockwise();
    if (!packed_) {
      if (s_.block) kernels::qgemm_blockwise_reference(s_.M, s_.N, s_.K, a, s_.w4.data(), bw, out[0].data, s_.N);
      else kernels::qgemm_reference(s_.M, s_.N, s_.K, a, s_.w.data(), ep, out[0].data, s_.N);
      return;
    }
    if (s_.block) kernels::qgemm_blockwise_parallel(s_.M, a, *packed_, bw, out[0].data, s_.N, threads_);
    else kernels::qgemm_parallel(s_.M, a, *packed_, ep, out[0].data, s_.N, threads_);
  }
  std::string_view impl_name() const override {
    if (!packed_) return s_.block ? "qgemm_blockwise_reference" : "qgemm_reference";
    if (s_.block) return "qgemm_blockwise";
    switch (packed_->isa()) {
      case kernels::QIsa::kAmx: return "qgemm_amx";
      case kernels::QIsa::kAvx512Vnni: return "qgemm_avx512_vnni";
      case kernels::QIsa::kAvx2: return "qgemm_avx2";
      case kernels::QIsa::kScalar: return "qgemm_scalar";
    }
    return "qgemm";
  }

 private:
  QLinearSetup s_;
  int threads_;
  std::optional<kernels::QGemmPackedB> packed_;
};

class QLinearExactKernel final : public Kernel {
 public:
  QLinearExactKernel(QLinearSetup s, int threads) : s_(std::move(s)) {
    // Per-block: the defined arithmetic of the block sums and their fp32 accumulation.
    if (s_.block) return;
    const kernels::QGemmA a{nullptr, s_.K, s_.x.is_signed(), s_.x.zero_point};
    const kernels::QGemmEpilogue ep{s_.bias.empty() ? nullptr : s_.bias.data(), &s_.rq, s_.y.type};
    exact_.emplace(s_.M, s_.N, s_.K, a, s_.w.data(), ep, threads);
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (exact_) {
      exact_->run(in[0].data, out[0].data);
      return;
    }
    const kernels::QGemmA a{in[0].data, s_.K, s_.x.is_signed(), s_.x.zero_point};
    kernels::qgemm_blockwise_reference(s_.M, s_.N, s_.K, a, s_.w4.data(), s_.blockwise(),
                                       out[0].data, s_.N);
  }
  std::string_view impl_name() const override {
    return exact_ ? exact_->impl_name() : std::string_view("qgemm_blockwise_exact");
  }

 private:
  QLinearSetup s_;
  std::optional<kernels::QGemmExact> exact_;
};

std::unique_ptr<Kernel> prepare_qlinear(const PrepareContext& ctx) {
  if (is_wide(ctx.node, ctx.input(0).dtype)) return qops::prepare_qlinear16(ctx);
  QLinearSetup s = qlinear_setup(ctx);
  if (use_exact(ctx)) return std::make_unique<QLinearExactKernel>(std::move(s), ctx.threads);
  return std::make_unique<QLinearIntKernel>(std::move(s), ctx.threads, ctx.reference);
}

// Multiply-adds: output elements x weight codes per output channel (axis 0 of the weights).
double q_operations(const Graph& g, const Node& n) {
  const TensorInfo& y = g.tensor(n.outputs[0]);
  const TensorInfo& w = g.tensor(n.inputs[1]);
  if (!y.shape.is_concrete() || !w.shape.is_concrete() || w.shape.rank() == 0) return 0;
  const Dims wd = w.shape.concrete();
  double out = 1, per_channel = 1;
  for (int64_t d : y.shape.concrete()) out *= double(d);
  for (size_t i = 1; i < wd.size(); ++i) per_channel *= double(wd[i]);
  return out * per_channel;
}

}  // namespace

void register_nn_quantized_ops(OpRegistry& r) {
  r.add({.name = "octet.QConv", .min_inputs = 2, .max_inputs = 3,
         .infer = infer_qconv, .prepare = prepare_qconv, .operations = q_operations});
  r.add({.name = "octet.QGemm", .min_inputs = 2, .max_inputs = 3,
         .infer = infer_qlinear, .prepare = prepare_qlinear, .operations = q_operations});
  r.add({.name = "octet.QMatMul", .min_inputs = 2, .max_inputs = 3,
         .infer = infer_qlinear, .prepare = prepare_qlinear, .operations = q_operations});
}

}  // namespace octet
