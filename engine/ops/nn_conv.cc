// Conv and ConvTranspose bindings: attribute validation, output shapes, kernel selection.
#include <algorithm>
#include <memory>
#include <optional>

#include "engine/ops/nn_common.h"
#include "engine/ops/op_groups.h"
#include "kernels/conv.h"
#include "kernels/conv_transpose.h"

namespace octet {
namespace {

constexpr int64_t kMaxAttr = int64_t{1} << 24;

std::vector<int64_t> spatial_attr(const Node& node, const char* name, int spatial,
                                  int64_t fallback, int64_t lo) {
  std::vector<int64_t> v = node.attrs.get_ints(name, std::vector<int64_t>(spatial, fallback));
  if (v.size() != static_cast<size_t>(spatial))
    node_fail(node, name, " must have ", spatial, " values, has ", v.size());
  for (int64_t x : v)
    if (x < lo || x > kMaxAttr) node_fail(node, name, " value ", x, " out of range");
  return v;
}

}  // namespace

nn::ConvGeom nn::conv_geom(const Node& node, const Dims& x, const Dims& w, bool transpose) {
  ConvGeom g;
  g.nhwc = nn::is_nhwc(node);
  const size_t r = x.size();
  if (r == 5) node_fail(node, "3-D convolution is not supported");
  if (r != 3 && r != 4) node_fail(node, "input must have rank 3 or 4, has ", r);
  if (w.size() != r) node_fail(node, "weights must have rank ", r, ", have ", w.size());
  const int sp = static_cast<int>(r) - 2;
  g.spatial = sp;
  for (int64_t d : x)
    if (d <= 0) node_fail(node, "input dims must be positive: ", dims_to_string(x));
  for (int64_t d : w)
    if (d <= 0) node_fail(node, "weight dims must be positive: ", dims_to_string(w));
  const int64_t N = x[0];
  const int64_t C = g.nhwc ? x[r - 1] : x[1];
  std::vector<int64_t> in(sp), k(sp);
  for (int i = 0; i < sp; ++i) {
    in[i] = g.nhwc ? x[1 + i] : x[2 + i];
    k[i] = w[2 + i];
  }
  const int64_t group = node.attrs.get_int("group", 1);
  if (group < 1 || group > C) node_fail(node, "group ", group, " out of range for ", C, " channels");
  if (C % group) node_fail(node, "channels ", C, " not divisible by group ", group);
  int64_t M;
  if (!transpose) {
    if (w[1] * group != C)
      node_fail(node, "weights expect ", w[1] * group, " input channels, input has ", C);
    M = w[0];
    if (M % group) node_fail(node, "output channels ", M, " not divisible by group ", group);
  } else {
    if (w[0] != C) node_fail(node, "weights expect ", w[0], " input channels, input has ", C);
    M = w[1] * group;
  }
  if (node.attrs.has("kernel_shape")) {
    auto ks = spatial_attr(node, "kernel_shape", sp, 1, 1);
    if (ks != k) node_fail(node, "kernel_shape does not match the weights' shape");
  }
  auto strides = spatial_attr(node, "strides", sp, 1, 1);
  auto dil = spatial_attr(node, "dilations", sp, 1, 1);
  std::vector<int64_t> pads = node.attrs.get_ints("pads", std::vector<int64_t>(2 * sp, 0));
  if (pads.size() != static_cast<size_t>(2 * sp))
    node_fail(node, "pads must have ", 2 * sp, " values, has ", pads.size());
  for (int64_t v : pads)
    if (v < 0 || v > kMaxAttr) node_fail(node, "pad value ", v, " out of range");
  const std::string auto_pad = node.attrs.get_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" &&
      auto_pad != "VALID")
    node_fail(node, "unknown auto_pad '", auto_pad, "'");
  std::vector<int64_t> out(sp);
  if (!transpose) {
    for (int i = 0; i < sp; ++i) {
      const int64_t eff = (k[i] - 1) * dil[i] + 1;
      if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        out[i] = (in[i] + strides[i] - 1) / strides[i];
        const int64_t total = std::max<int64_t>(0, (out[i] - 1) * strides[i] + eff - in[i]);
        pads[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pads[i + sp] = total - pads[i];
      } else {
        if (auto_pad == "VALID") pads[i] = pads[i + sp] = 0;
        const int64_t span = in[i] + pads[i] + pads[i + sp] - eff;
        if (span < 0) node_fail(node, "kernel larger than the padded input");
        out[i] = span / strides[i] + 1;
      }
    }
  } else {
    auto opad = node.attrs.get_ints("output_padding", std::vector<int64_t>(sp, 0));
    if (opad.size() != static_cast<size_t>(sp))
      node_fail(node, "output_padding must have ", sp, " values");
    for (int i = 0; i < sp; ++i)
      if (opad[i] < 0 || opad[i] > kMaxAttr) node_fail(node, "bad output_padding");
    std::vector<int64_t> oshape = node.attrs.get_ints("output_shape", {});
    if (!oshape.empty()) {
      if (oshape.size() == static_cast<size_t>(sp + 2)) oshape.erase(oshape.begin(), oshape.begin() + 2);
      if (oshape.size() != static_cast<size_t>(sp))
        node_fail(node, "output_shape must have ", sp, " values");
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      oshape.resize(sp);
      for (int i = 0; i < sp; ++i) oshape[i] = in[i] * strides[i];
    }
    for (int i = 0; i < sp; ++i) {
      const int64_t natural = strides[i] * (in[i] - 1) + opad[i] + (k[i] - 1) * dil[i] + 1;
      if (!oshape.empty()) {
        if (oshape[i] <= 0 || oshape[i] > kMaxAttr) node_fail(node, "bad output_shape");
        // Floor division, as in the ONNX reference (total may be negative).
        const int64_t total = natural - oshape[i];
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        if (auto_pad == "SAME_UPPER") {
          pads[i] = half;
          pads[i + sp] = total - half;
        } else {
          pads[i] = total - half;
          pads[i + sp] = half;
        }
        out[i] = oshape[i];
      } else {
        if (auto_pad == "VALID") pads[i] = pads[i + sp] = 0;
        out[i] = natural - pads[i] - pads[i + sp];
      }
    }
  }
  for (int64_t o : out)
    if (o <= 0) node_fail(node, "computed output size ", o, " is not positive");
  kernels::ConvParams& p = g.p;
  p.N = N;
  p.C = C;
  p.M = M;
  p.group = group;
  const int j = sp - 1;  // width axis
  p.W = in[j];
  p.OW = out[j];
  p.KW = k[j];
  p.sw = strides[j];
  p.dw = dil[j];
  p.pl = pads[j];
  if (sp == 2) {
    p.H = in[0];
    p.OH = out[0];
    p.KH = k[0];
    p.sh = strides[0];
    p.dh = dil[0];
    p.pt = pads[0];
  }
  nn::act_range(node, p.lo, p.hi);
  g.out = {N};
  if (!g.nhwc) g.out.push_back(M);
  for (int64_t o : out) g.out.push_back(o);
  if (g.nhwc) g.out.push_back(M);
  checked_numel(g.out);
  return g;
}

namespace {

using nn::ConvGeom;
using nn::conv_geom;

kernels::ConvTransposeParams to_transpose(const kernels::ConvParams& p) {
  kernels::ConvTransposeParams t;
  t.N = p.N; t.C = p.C; t.H = p.H; t.W = p.W; t.M = p.M; t.OH = p.OH; t.OW = p.OW;
  t.KH = p.KH; t.KW = p.KW; t.sh = p.sh; t.sw = p.sw; t.dh = p.dh; t.dw = p.dw;
  t.pt = p.pt; t.pl = p.pl; t.group = p.group; t.lo = p.lo; t.hi = p.hi;
  return t;
}

template <bool kTranspose>
void infer_conv(InferContext& ctx) {
  nn::require_f32(ctx.node(), ctx.input_dtype(0), "input X");
  nn::require_f32(ctx.node(), ctx.input_dtype(1), "weights W");
  ConvGeom g = conv_geom(ctx.node(), ctx.input_dims(0), ctx.input_dims(1), kTranspose);
  if (ctx.has_input(2)) {
    nn::require_f32(ctx.node(), ctx.input_dtype(2), "bias B");
    if (checked_numel(ctx.input_dims(2)) != g.p.M)
      ctx.fail("bias must have ", g.p.M, " values");
  }
  ctx.set_output(0, DType::kF32, g.out);
}

// Holds weights/bias (constant copies or run-time inputs) and the chosen implementation.
template <bool kTranspose>
class ConvKernel final : public Kernel {
 public:
  using Impl = std::conditional_t<kTranspose, kernels::ConvTranspose2dNhwc, kernels::Conv2dNhwc>;

  explicit ConvKernel(const PrepareContext& ctx) : threads_(ctx.threads) {
    const Node& node = ctx.node;
    ConvGeom g = conv_geom(node, ctx.input_dims(0), ctx.input_dims(1), kTranspose);
    p_ = g.p;
    nhwc_ = g.nhwc;
    reference_ = ctx.reference;
    const_w_ = ctx.input(1).is_constant();
    has_b_ = ctx.has_input(2);
    const_b_ = !has_b_ || ctx.input(2).is_constant();
    if (const_w_) w_ = nn::const_floats(node, ctx.input(1));
    if (has_b_ && const_b_) b_ = nn::const_floats(node, ctx.input(2));
    if (!reference_ && const_w_ && const_b_) build(w_.data(), has_b_ ? b_.data() : nullptr);
  }

  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const float* x = in[0].as<float>();
    const float* w = const_w_ ? w_.data() : in[1].as<float>();
    const float* b = !has_b_ ? nullptr : const_b_ ? b_.data() : in[2].as<float>();
    float* y = out[0].as<float>();
    if (reference_) {
      if constexpr (kTranspose)
        kernels::conv_transpose2d_reference(to_transpose(p_), x, w, b, y, nhwc_);
      else
        kernels::conv2d_reference(p_, x, w, b, y, nhwc_);
      return;
    }
    if (!impl_) build(w, b);  // run-time weights: pack per call
    if (nhwc_) impl_->run_nhwc(x, y); else impl_->run_nchw(x, y);
    if (!(const_w_ && const_b_)) impl_.reset();
  }

  std::string_view impl_name() const override {
    if (reference_) return kTranspose ? "conv_transpose_reference" : "conv_reference";
    return kTranspose ? "conv_transpose_nhwc_f32_gemm_col2im"
                      : (impl_ ? impl_->impl_name() : std::string_view("conv_nhwc_f32"));
  }

 private:
  void build(const float* w, const float* b) {
    if constexpr (kTranspose)
      impl_ = std::make_unique<Impl>(to_transpose(p_), w, b, threads_);
    else
      impl_ = std::make_unique<Impl>(p_, w, b, threads_);
  }

  int threads_;
  kernels::ConvParams p_;
  bool nhwc_ = false, reference_ = false, const_w_ = false, has_b_ = false, const_b_ = true;
  std::vector<float> w_, b_;
  std::unique_ptr<Impl> impl_;
};

template <bool kTranspose>
std::unique_ptr<Kernel> prepare_conv(const PrepareContext& ctx) {
  return std::make_unique<ConvKernel<kTranspose>>(ctx);
}

// Weights [M, C/group, k...] (Conv) and [C, M/group, k...] (ConvTranspose).
int conv_channel_axis(const Node&, int) { return 0; }
int conv_reduction_axis(const Node&, int) { return 1; }
int conv_transpose_channel_axis(const Node&, int rank) { return rank > 1 ? 1 : 0; }
int conv_transpose_input_channel_axis(const Node&, int) { return 0; }

}  // namespace

void register_nn_conv_ops(OpRegistry& r) {
  r.add({.name = "Conv", .min_inputs = 2, .max_inputs = 3,
         .infer = infer_conv<false>, .prepare = prepare_conv<false>,
         .layout = LayoutClass::kNhwcIsland,
         .params = {.weight = 1, .bias = 2, .channel_axis = conv_channel_axis,
                    .reduction_axis = conv_reduction_axis,
                    .input_channel_axis = conv_reduction_axis}});
  r.add({.name = "ConvTranspose", .min_inputs = 2, .max_inputs = 3,
         .infer = infer_conv<true>, .prepare = prepare_conv<true>,
         .layout = LayoutClass::kNhwcIsland,
         .params = {.weight = 1, .bias = 2, .channel_axis = conv_transpose_channel_axis,
                    .input_channel_axis = conv_transpose_input_channel_axis}});
}

}  // namespace octet
