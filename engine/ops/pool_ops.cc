// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (NCHW, or NHWC via _layout).
#include <algorithm>
#include <string>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "engine/ops/pool_geometry.h"
#include "kernels/pool.h"
#include "kernels/pool_global.h"

namespace octet {
namespace {

using kernels::PoolKind;
using kernels::PoolParams;

constexpr int64_t kMaxPoolAttr = int64_t(1) << 24;

bool is_nhwc(const Node& n) {
  std::string layout = n.attrs.get_string("_layout", "NCHW");
  if (layout != "NCHW" && layout != "NHWC")
    node_fail(n, "_layout must be NCHW or NHWC, got '", layout, "'");
  return layout == "NHWC";
}

std::vector<int64_t> spatial_ints(const Node& n, const char* name, size_t count,
                                  int64_t fallback, int64_t lo) {
  std::vector<int64_t> v = n.attrs.get_ints(name, std::vector<int64_t>(count, fallback));
  if (v.size() != count)
    node_fail(n, name, " has ", v.size(), " values, expected ", count);
  for (int64_t x : v)
    if (x < lo || x > kMaxPoolAttr)
      node_fail(n, name, " value ", x, " is out of range [", lo, ", ", kMaxPoolAttr, "]");
  return v;
}

}  // namespace

bool pool_is_nhwc(const Node& n) { return is_nhwc(n); }

// Resolves the pool geometry from the attributes and the input dims (ONNX or NHWC order).
PoolParams pool_geometry(const Node& n, const Dims& x, int64_t opset) {
  const bool nhwc = is_nhwc(n);
  if (x.size() < 3 || x.size() > 5)
    node_fail(n, "input must have rank 3..5 (1..3 spatial dims), got ", dims_to_string(x));
  if (nhwc && x.size() != 4) node_fail(n, "_layout NHWC needs a 4-D input");
  const size_t rank = x.size() - 2;
  PoolParams p;
  p.kind = n.op_type == "MaxPool" ? PoolKind::kMax : PoolKind::kAvg;
  p.batch = x[0];
  p.channels = nhwc ? x[3] : x[1];
  p.in = nhwc ? Dims{x[1], x[2]} : Dims(x.begin() + 2, x.end());
  p.kernel = n.attrs.require_ints("kernel_shape");
  if (p.kernel.size() != rank)
    node_fail(n, "kernel_shape has ", p.kernel.size(), " values for ", rank,
              " spatial dims of input ", dims_to_string(x));
  for (int64_t k : p.kernel)
    if (k < 1 || k > kMaxPoolAttr) node_fail(n, "kernel_shape value ", k, " is out of range");
  p.strides = spatial_ints(n, "strides", rank, 1, 1);
  p.dilations = spatial_ints(n, "dilations", rank, 1, 1);
  std::vector<int64_t> pads = spatial_ints(n, "pads", 2 * rank, 0, 0);
  p.pads_begin.assign(pads.begin(), pads.begin() + rank);
  p.pads_end.assign(pads.begin() + rank, pads.end());
  const std::string auto_pad = n.attrs.get_string("auto_pad", "NOTSET");
  const bool ceil_mode = n.attrs.get_int("ceil_mode", 0) != 0;
  p.count_include_pad = n.attrs.get_int("count_include_pad", 0) != 0;
  p.out.resize(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t in = p.in[d], s = p.strides[d];
    const int64_t ek = (p.kernel[d] - 1) * p.dilations[d] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      p.out[d] = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (p.out[d] - 1) * s + ek - in);
      int64_t small = total / 2;
      p.pads_begin[d] = auto_pad == "SAME_UPPER" ? small : total - small;
      p.pads_end[d] = total - p.pads_begin[d];
    } else if (auto_pad == "VALID") {
      if (in < ek)
        node_fail(n, "kernel extent ", ek, " exceeds input size ", in, " along spatial dim ", d);
      p.pads_begin[d] = p.pads_end[d] = 0;
      p.out[d] = (in - ek) / s + 1;
    } else if (auto_pad == "NOTSET") {
      if (p.pads_begin[d] >= ek || p.pads_end[d] >= ek)
        node_fail(n, "pads (", p.pads_begin[d], ", ", p.pads_end[d],
                  ") must be smaller than the kernel extent ", ek, " along spatial dim ", d);
      const int64_t numer = in + p.pads_begin[d] + p.pads_end[d] - ek;
      if (numer < 0)
        node_fail(n, "kernel extent ", ek, " exceeds padded input size ",
                  in + p.pads_begin[d] + p.pads_end[d], " along spatial dim ", d);
      p.out[d] = (ceil_mode ? (numer + s - 1) / s : numer / s) + 1;
      // A last window that would start inside the end padding is dropped.
      if (ceil_mode && (p.out[d] - 1) * s >= in + p.pads_begin[d]) --p.out[d];
    } else {
      node_fail(n, "unknown auto_pad '", auto_pad, "'");
    }
    if (p.out[d] < 1) node_fail(n, "output size along spatial dim ", d, " would be ", p.out[d]);
  }
  (void)opset;
  return p;
}

namespace {

Dims pool_output_dims(const PoolParams& p, bool nhwc) {
  if (nhwc) return {p.batch, p.out[0], p.out[1], p.channels};
  Dims d{p.batch, p.channels};
  d.insert(d.end(), p.out.begin(), p.out.end());
  return d;
}

void infer_pool(InferContext& ctx) {
  const Node& n = ctx.node();
  const DType t = ctx.input_dtype(0);
  const bool is_max = n.op_type == "MaxPool";
  if (!(t == DType::kF32 || (is_max && (t == DType::kU8 || t == DType::kI8))))
    ctx.fail("input type ", dtype_name(t), " is not supported");
  PoolParams p = pool_geometry(n, ctx.input_dims(0), ctx.opset());
  const bool nhwc = is_nhwc(n);
  Dims out = pool_output_dims(p, nhwc);
  ctx.set_output(0, t, out);
  if (ctx.num_outputs() > 1) {
    if (nhwc) ctx.fail("the Indices output is not supported with _layout NHWC");
    int64_t order = n.attrs.get_int("storage_order", 0);
    if (order != 0 && order != 1) ctx.fail("storage_order must be 0 or 1, got ", order);
    if (order == 1 && p.kernel.size() != 2)
      ctx.fail("storage_order 1 is supported for 2D pools only");
    ctx.set_output(1, DType::kI64, out);
  }
}

class PoolKernel final : public Kernel {
 public:
  PoolKernel(PoolParams p, DType t, bool nhwc, bool reference, bool indices, int storage_order,
             int threads)
      : p_(std::move(p)), t_(t), nhwc_(nhwc), reference_(reference),
        indices_(indices), order_(storage_order), threads_(threads) {}

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    int64_t* idx = indices_ && out.size() > 1 ? out[1].as<int64_t>() : nullptr;
    if (t_ == DType::kU8) return run_typed<uint8_t>(in, out, idx);
    if (t_ == DType::kI8) return run_typed<int8_t>(in, out, idx);
    const float* x = in[0].as<float>();
    float* y = out[0].as<float>();
    if (nhwc_) {
      if (reference_) kernels::pool_reference_nhwc<float>(p_, x, y);
      else kernels::pool_nhwc_f32(p_, x, y, threads_);
    } else if (reference_ || idx) {
      kernels::pool_reference_nchw<float>(p_, x, y, idx, order_);
    } else {
      kernels::pool_nchw_f32(p_, x, y, threads_);
    }
  }
  std::string_view impl_name() const override {
    if (reference_ || indices_ || (t_ != DType::kF32 && p_.kind != PoolKind::kMax))
      return nhwc_ ? "pool_nhwc_reference" : "pool_nchw_reference";
    if (t_ != DType::kF32) return "pool_max_int_omp";
    return nhwc_ ? "pool_nhwc_f32_hwy" : "pool_nchw_f32_hwy";
  }

 private:
  template <typename T>
  void run_typed(std::span<const TensorRef> in, std::span<TensorRef> out, int64_t* idx) {
    if (!reference_ && !idx && p_.kind == PoolKind::kMax)
      return kernels::pool_max_int<T>(p_, nhwc_, in[0].as<T>(), out[0].as<T>(), threads_);
    if (nhwc_) kernels::pool_reference_nhwc<T>(p_, in[0].as<T>(), out[0].as<T>());
    else kernels::pool_reference_nchw<T>(p_, in[0].as<T>(), out[0].as<T>(), idx, order_);
  }
  PoolParams p_;
  DType t_;
  bool nhwc_, reference_, indices_;
  int order_, threads_;
};

std::unique_ptr<Kernel> prepare_pool(const PrepareContext& ctx) {
  const Node& n = ctx.node;
  PoolParams p = pool_geometry(n, ctx.input_dims(0), ctx.graph.opset);
  bool indices = n.outputs.size() > 1 && n.outputs[1] != kNoTensor;
  return std::make_unique<PoolKernel>(std::move(p), ctx.input(0).dtype, is_nhwc(n), ctx.reference,
                                      indices, static_cast<int>(n.attrs.get_int("storage_order", 0)),
                                      ctx.threads);
}

// --- global pools ---------------------------------------------------------------

void infer_global_pool(InferContext& ctx) {
  const DType t = ctx.input_dtype(0);
  const bool is_max = ctx.node().op_type == "GlobalMaxPool";
  if (!(t == DType::kF32 || (is_max && (t == DType::kU8 || t == DType::kI8))))
    ctx.fail("input type ", dtype_name(t), " is not supported");
  Dims x = ctx.input_dims(0);
  if (x.size() < 3) ctx.fail("input must have rank >= 3, got ", dims_to_string(x));
  const bool nhwc = is_nhwc(ctx.node());
  Dims out(x.size(), 1);
  out[0] = x[0];
  if (nhwc) out.back() = x.back();
  else out[1] = x[1];
  ctx.set_output(0, t, out);
}

class GlobalPoolKernel final : public Kernel {
 public:
  GlobalPoolKernel(PoolKind kind, DType t, Dims x, bool nhwc, bool reference, int threads)
      : kind_(kind), t_(t), nhwc_(nhwc), reference_(reference), threads_(threads) {
    n_ = x[0];
    c_ = nhwc ? x.back() : x[1];
    s_ = 1;
    for (size_t i = 0; i < x.size(); ++i)
      if (i != 0 && i != (nhwc ? x.size() - 1 : 1)) s_ *= x[i];
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (t_ == DType::kU8) return run_int<uint8_t>(in, out);
    if (t_ == DType::kI8) return run_int<int8_t>(in, out);
    if (reference_)
      kernels::global_pool_reference(kind_, n_, c_, s_, nhwc_, in[0].as<float>(), out[0].as<float>());
    else
      kernels::global_pool_f32(kind_, n_, c_, s_, nhwc_, in[0].as<float>(), out[0].as<float>(),
                               threads_);
  }
  std::string_view impl_name() const override {
    if (t_ != DType::kF32) return reference_ ? "global_max_reference" : "global_max_int_omp";
    return reference_ ? "global_pool_reference" : "global_pool_f32_hwy";
  }

 private:
  template <typename T>
  void run_int(std::span<const TensorRef> in, std::span<TensorRef> out) {
    if (reference_) kernels::global_max_reference<T>(n_, c_, s_, nhwc_, in[0].as<T>(), out[0].as<T>());
    else kernels::global_max_int<T>(n_, c_, s_, nhwc_, in[0].as<T>(), out[0].as<T>(), threads_);
  }
  PoolKind kind_;
  DType t_;
  bool nhwc_, reference_;
  int threads_;
  int64_t n_ = 0, c_ = 0, s_ = 0;
};

std::unique_ptr<Kernel> prepare_global_pool(const PrepareContext& ctx) {
  PoolKind kind = ctx.node.op_type == "GlobalMaxPool" ? PoolKind::kMax : PoolKind::kAvg;
  return std::make_unique<GlobalPoolKernel>(kind, ctx.input(0).dtype, ctx.input_dims(0),
                                            is_nhwc(ctx.node),
                                            ctx.reference, ctx.threads);
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  constexpr LayoutClass nhwc = LayoutClass::kNhwcIsland;
  r.add({.name = "MaxPool", .max_outputs = 2, .infer = infer_pool, .prepare = prepare_pool,
         .layout = nhwc, .encoding = EncodingClass::kSelects});
  r.add({.name = "AveragePool", .infer = infer_pool, .prepare = prepare_pool, .layout = nhwc});
  r.add({.name = "GlobalAveragePool", .infer = infer_global_pool, .prepare = prepare_global_pool,
         .layout = nhwc});
  r.add({.name = "GlobalMaxPool", .infer = infer_global_pool, .prepare = prepare_global_pool,
         .layout = nhwc, .encoding = EncodingClass::kSelects});
}

}  // namespace octet
