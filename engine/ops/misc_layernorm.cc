// LayerNormalization (opset 17): normalizes over dims[axis:], then Scale and optional B
// (broadcast to those dims); optional Mean and InvStdDev outputs of shape dims[:axis] + 1s.
#include <cstring>

#include "engine/op.h"
#include "engine/ops/op_groups.h"
#include "kernels/layernorm.h"

namespace octet {
namespace {

int64_t norm_axis(const Node& n, const Dims& x) {
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = n.attrs.get_int("axis", -1);
  if (rank == 0 || axis < -rank || axis >= rank)
    node_fail(n, "axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

// Whether `b` broadcasts (numpy rules, one direction) to the trailing dims x[axis:].
bool broadcasts_to(const Dims& b, const Dims& x, int64_t axis) {
  const size_t tail = x.size() - static_cast<size_t>(axis);
  if (b.size() > tail) {
    for (size_t i = 0; i < b.size() - tail; ++i)
      if (b[i] != 1) return false;
  }
  for (size_t i = 0; i < std::min(b.size(), tail); ++i) {
    int64_t bd = b[b.size() - 1 - i], xd = x[x.size() - 1 - i];
    if (bd != xd && bd != 1) return false;
  }
  return true;
}

void infer_layernorm(InferContext& ctx) {
  for (size_t i = 0; i < 3; ++i)
    if (ctx.has_input(i) && ctx.input_dtype(i) != DType::kF32)
      ctx.fail("input ", i, " type ", dtype_name(ctx.input_dtype(i)), " is not supported");
  const Dims x = ctx.input_dims(0);
  const int64_t axis = norm_axis(ctx.node(), x);
  if (!broadcasts_to(ctx.input_dims(1), x, axis))
    ctx.fail("Scale shape ", dims_to_string(ctx.input_dims(1)), " does not broadcast to ",
             dims_to_string(Dims(x.begin() + axis, x.end())));
  if (ctx.has_input(2) && !broadcasts_to(ctx.input_dims(2), x, axis))
    ctx.fail("B shape ", dims_to_string(ctx.input_dims(2)), " does not broadcast to ",
             dims_to_string(Dims(x.begin() + axis, x.end())));
  ctx.set_output(0, DType::kF32, x);
  Dims stat(x.begin(), x.begin() + axis);
  stat.resize(x.size(), 1);
  ctx.set_output(1, DType::kF32, stat);
  ctx.set_output(2, DType::kF32, stat);
}

// Expands a tensor broadcastable to `tail` into tail's full size.
void expand_to(const float* src, const Dims& sd, const Dims& tail, float* dst) {
  const size_t r = tail.size();
  Dims s(r, 1);
  for (size_t i = 0; i < std::min(sd.size(), r); ++i) s[r - 1 - i] = sd[sd.size() - 1 - i];
  std::vector<int64_t> stride(r, 0);
  for (int64_t a = static_cast<int64_t>(r) - 1, st = 1; a >= 0; --a) {
    stride[a] = s[a] == 1 ? 0 : st;
    st *= s[a];
  }
  const int64_t total = checked_numel(tail);
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t off = 0;
    for (size_t a = 0; a < r; ++a) off += idx[a] * stride[a];
    dst[i] = src[off];
    for (size_t a = r; a-- > 0;) {
      if (++idx[a] < tail[a]) break;
      idx[a] = 0;
    }
  }
}

class LayerNormKernel final : public Kernel {
 public:
  LayerNormKernel(kernels::LayerNormParams p, Dims tail, bool reference, int threads)
      : p_(p), tail_(std::move(tail)), reference_(reference), threads_(threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const float* scale = full(in[1], scale_buf_);
    const float* bias = in.size() > 2 && in[2].data ? full(in[2], bias_buf_) : nullptr;
    float* mean = out.size() > 1 ? out[1].as<float>() : nullptr;
    float* inv = out.size() > 2 ? out[2].as<float>() : nullptr;
    if (reference_)
      kernels::layernorm_reference(p_, in[0].as<float>(), scale, bias, out[0].as<float>(), mean, inv);
    else
      kernels::layernorm_f32(p_, in[0].as<float>(), scale, bias, out[0].as<float>(), mean, inv,
                             threads_);
  }
  std::string_view impl_name() const override {
    return reference_ ? "layernorm_reference" : "layernorm_f32_hwy";
  }

 private:
  const float* full(const TensorRef& t, std::vector<float>& buf) {
    if (t.numel() == p_.n) return t.as<float>();
    buf.resize(static_cast<size_t>(p_.n));
    expand_to(t.as<float>(), t.dims, tail_, buf.data());
    return buf.data();
  }
  kernels::LayerNormParams p_;
  Dims tail_;
  bool reference_;
  int threads_;
  std::vector<float> scale_buf_, bias_buf_;
};

std::unique_ptr<Kernel> prepare_layernorm(const PrepareContext& ctx) {
  const Dims x = ctx.input_dims(0);
  const int64_t axis = norm_axis(ctx.node, x);
  kernels::LayerNormParams p;
  p.epsilon = ctx.node.attrs.get_float("epsilon", 1e-5f);
  if (!(p.epsilon >= 0.f)) fail("LayerNormalization node '", ctx.node.name, "': epsilon must be >= 0");
  Dims tail(x.begin() + axis, x.end());
  p.rows = checked_numel(Dims(x.begin(), x.begin() + axis));
  p.n = checked_numel(tail);
  return std::make_unique<LayerNormKernel>(p, std::move(tail), ctx.reference, ctx.threads);
}

}  // namespace

void register_layernorm_ops(OpRegistry& r) {
  r.add({.name = "LayerNormalization", .min_inputs = 2, .max_inputs = 3, .max_outputs = 3,
         .infer = infer_layernorm, .prepare = prepare_layernorm});
}

}  // namespace octet
