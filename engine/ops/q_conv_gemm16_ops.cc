// W8A16 forms of octet.QConv / QGemm / QMatMul: taken (from q_conv_gemm_ops.cc) when the
// input or the output holds 16-bit codes. Weights are the usual symmetric i8 / i4 constants;
// the bias may be i32 or i64; sums are exact in int64 and requantized by requantize_one64
// (kernels/requant.h), so `int` (kernels/qgemm16.h) and `exact` give the same bits.
//
// `exact` takes the same arithmetic through the float kernels (kernels/qexact.h).

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "engine/ops/nn_common.h"
#include "engine/ops/q_common.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "kernels/qexact.h"
#include "kernels/qgemm16.h"

namespace octet::qops {
namespace {


// ---- QConv ---------------------------------------------------------------------------------

struct QConv16Setup {
  kernels::ConvParams p;
  kernels::QConv16Quant q;
  ActQuant x, y;
  std::vector<int8_t> w;
  std::vector<int64_t> bias;
  const int64_t* b() const { return bias.empty() ? nullptr : bias.data(); }
};

QConv16Setup qconv16_setup(const PrepareContext& ctx) {
  const Node& node = ctx.node;
  QConv16Setup s;
  s.p = nn::conv_geom(node, ctx.input_dims(0), ctx.input_dims(1), false).p;
  s.x = act_quant_wide(node, ctx.input(0));
  s.y = act_quant_wide(node, ctx.output(0));
  s.w = weight_codes(node, ctx.input(1));
  const std::vector<float> ws = weight_scales(node, ctx.input(1), s.p.M, 0);
  if (ctx.has_input(2)) s.bias = bias_codes64(node, ctx.input(2), s.p.M);
  s.q.x_type = s.x.type;
  s.q.x_zero_point = s.x.zero_point;
  s.q.out_type = s.y.type;
  s.q.requant = make_requantizer(node, requant_scheme(node), s.x, ws, s.y);
  return s;
}

class QConv16IntKernel final : public Kernel {
 public:
  QConv16IntKernel(QConv16Setup s, int threads, bool reference) : s_(std::move(s)) {
    if (!reference)
      impl_ = std::make_unique<kernels::QConv16Nhwc>(s_.p, s_.q, s_.w.data(), s_.b(), threads,
                                                     kernels::qgemm_best_isa());
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (impl_) impl_->run(in[0].data, out[0].data);
    else kernels::qconv16_reference(s_.p, s_.q, in[0].data, s_.w.data(), s_.b(), out[0].data);
  }
  std::string_view impl_name() const override {
    return impl_ ? impl_->impl_name() : std::string_view("qconv16_reference");
  }

 private:
  QConv16Setup s_;
  std::unique_ptr<kernels::QConv16Nhwc> impl_;
};

class QConv16ExactKernel final : public Kernel {
 public:
  QConv16ExactKernel(QConv16Setup s, int threads)
      : s_(std::move(s)), exact_(s_.p, s_.q, s_.w.data(), s_.b(), threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    exact_.run(in[0].data, out[0].data);
  }
  std::string_view impl_name() const override { return exact_.impl_name(); }

 private:
  QConv16Setup s_;
  kernels::QConvExact exact_;
};

// ---- QGemm / QMatMul: Y[..., N] = A[..., K] x W^T, W stored [N][K] --------------------------

struct QLinear16Setup {
  int64_t M = 0, N = 0, K = 0;
  ActQuant x, y;
  std::vector<int8_t> w;
  std::vector<int64_t> bias;
  kernels::Requantizer rq;
  const int64_t* b() const { return bias.empty() ? nullptr : bias.data(); }
  kernels::QGemm16A a(const void* data) const { return {data, K, x.type, x.zero_point}; }
  kernels::QGemm16Epilogue ep() const { return {b(), &rq, y.type}; }
};

QLinear16Setup qlinear16_setup(const PrepareContext& ctx) {
  const Node& node = ctx.node;
  QLinear16Setup s;
  const Dims a = ctx.input_dims(0), w = ctx.input_dims(1);
  s.N = w[0];
  s.K = w[1];
  s.M = s.K ? checked_numel(a) / s.K : 0;
  s.x = act_quant_wide(node, ctx.input(0));
  s.y = act_quant_wide(node, ctx.output(0));
  if (ctx.input(1).quant.block_size > 0)
    node_fail(node, "per-block weights do not run with 16-bit codes");
  s.w = weight_codes(node, ctx.input(1));
  const std::vector<float> ws = weight_scales(node, ctx.input(1), s.N, 0);
  if (ctx.has_input(2)) s.bias = bias_codes64(node, ctx.input(2), s.N);
  s.rq = make_requantizer(node, requant_scheme(node), s.x, ws, s.y);
  return s;
}

class QLinear16IntKernel final : public Kernel {
 public:
  QLinear16IntKernel(QLinear16Setup s, int threads, bool reference)
      : s_(std::move(s)), threads_(threads) {
    if (!reference) packed_.emplace(s_.w.data(), s_.N, s_.K, kernels::qgemm_best_isa());
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const kernels::QGemm16A a = s_.a(in[0].data);
    const kernels::QGemm16Epilogue ep = s_.ep();
    if (!packed_) {
      kernels::qgemm16_reference(s_.M, s_.N, s_.K, a, s_.w.data(), ep, out[0].data, s_.N);
      return;
    }
    kernels::qgemm16_parallel(s_.M, a, *packed_, ep, out[0].data, s_.N, threads_);
  }
  std::string_view impl_name() const override {
    return packed_ ? packed_->impl_name() : std::string_view("qgemm16_reference");
  }

 private:
  QLinear16Setup s_;
  int threads_;
  std::optional<kernels::QGemm16PackedB> packed_;
};

class QLinear16ExactKernel final : public Kernel {
 public:
  QLinear16ExactKernel(QLinear16Setup s, int threads)
      : s_(std::move(s)), exact_(s_.M, s_.N, s_.K, s_.a(nullptr), s_.w.data(), s_.ep(), threads) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    exact_.run(in[0].data, out[0].data);
  }
  std::string_view impl_name() const override { return exact_.impl_name(); }

 private:
  QLinear16Setup s_;
  kernels::QGemmExact exact_;
};

}  // namespace

std::unique_ptr<Kernel> prepare_qconv16(const PrepareContext& ctx) {
  QConv16Setup s = qconv16_setup(ctx);
  if (ctx.mode == ExecutionMode::kExact)
    return std::make_unique<QConv16ExactKernel>(std::move(s), ctx.threads);
  return std::make_unique<QConv16IntKernel>(std::move(s), ctx.threads, ctx.reference);
}

std::unique_ptr<Kernel> prepare_qlinear16(const PrepareContext& ctx) {
  QLinear16Setup s = qlinear16_setup(ctx);
  if (ctx.mode == ExecutionMode::kExact)
    return std::make_unique<QLinear16ExactKernel>(std::move(s), ctx.threads);
  return std::make_unique<QLinear16IntKernel>(std::move(s), ctx.threads, ctx.reference);
}

}  // namespace octet::qops
