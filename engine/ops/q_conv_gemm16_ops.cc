// W8A16 forms of octet.QConv / QGemm / QMatMul: taken (from q_conv_gemm_ops.cc) when the
// input or the output holds 16-bit codes. Weights are the usual symmetric i8 / i4 constants;
// the bias may be i32 or i64; sums are exact in int64 and requantized by requantize_one64
// (kernels/requant.h), so `int` (kernels/qgemm16.h) and `exact` give the same bits.
//
// `exact` runs the float kernels on integer-valued data where max_n sum_k |w| * max|x - zp| is
// below 2^24 (every fp32 partial sum is then an exact integer); else, where 256 * max_n sum_k |w|
// is below 2^24, it splits v = x - zp = 256 * h + l (l in [0, 255], h = v >> 8) and runs the
// float kernels on h and on l (each sum exact), acc = 256 * sum_h + sum_l in int64; else the
// int64 reference loops.

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
#include "kernels/qcodes.h"
#include "kernels/qgemm16.h"

namespace octet::qops {
namespace {


void codes_to_float(const void* x, int64_t count, const ActQuant& q, float* out, int threads) {
  const float zp = float(q.zero_point);
  const DType t = q.type;
  kernels::parallel_for(count, threads, [&](int64_t i, int) {
    out[i] = float(kernels::load_code_any(x, t, i)) - zp;
  });
}

// (code - zero point) split into its high part h = v >> 8 (in hi) and low byte (in lo).
void codes_to_float_split(const void* x, int64_t count, const ActQuant& q, float* hi, float* lo,
                          int threads) {
  const DType t = q.type;
  kernels::parallel_for(count, threads, [&](int64_t i, int) {
    const int32_t v = kernels::load_code_any(x, t, i) - q.zero_point;
    hi[i] = float(v >> 8);
    lo[i] = float(v & 255);
  });
}

// max_n sum_k |w[n][k]|.
double max_abs_row_sum(const std::vector<int8_t>& w, int64_t N, int64_t K) {
  double worst = 0;
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::abs(int(w[size_t(n * K + k)]));
    worst = std::max(worst, s);
  }
  return worst;
}

// Integer-valued float sums (|f| < 2^24) -> requantized codes, rows x n; with `lo`, the sums
// are 256 * f + lo.
void requantize_float_rows(const float* f, int64_t rows, int64_t n, const int64_t* bias,
                           const kernels::Requantizer& rq, void* out, DType type, int threads,
                           const float* lo = nullptr) {
  const size_t es = dtype_size(type);
  kernels::parallel_for(rows, threads, [&](int64_t r, int) {
    std::vector<int64_t> acc(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j)
      acc[size_t(j)] = lo ? int64_t(f[r * n + j]) * 256 + int64_t(lo[r * n + j]) : int64_t(f[r * n + j]);
    kernels::requantize_row64_reference(acc.data(), bias, n, 0, rq,
                                        static_cast<uint8_t*>(out) + r * n * int64_t(es), type);
  });
}

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
  QConv16ExactKernel(QConv16Setup s, int threads) : s_(std::move(s)), threads_(threads) {
    const int64_t K = (s_.p.C / s_.p.group) * s_.p.KH * s_.p.KW;
    float_exact_ = max_abs_accumulator(s_.w, s_.p.M, K, s_.x) < kExactFloatLimit;
    split_ = !float_exact_ && 256.0 * max_abs_row_sum(s_.w, s_.p.M, K) < kExactFloatLimit;
    if (!float_exact_ && !split_) return;
    if (split_) {
      // Padding must read v = 0 in both halves: the conv runs on v's parts, zero-padded.
      xl_.resize(size_t(s_.p.N * s_.p.H * s_.p.W * s_.p.C));
      yl_.resize(size_t(s_.p.N * s_.p.OH * s_.p.OW * s_.p.M));
    }
    std::vector<float> wf(s_.w.begin(), s_.w.end());
    kernels::ConvParams fp = s_.p;
    fp.lo = -INFINITY;
    fp.hi = INFINITY;
    conv_ = std::make_unique<kernels::Conv2dNhwc>(fp, wf.data(), nullptr, threads);
    xf_.resize(size_t(s_.p.N * s_.p.H * s_.p.W * s_.p.C));
    yf_.resize(size_t(s_.p.N * s_.p.OH * s_.p.OW * s_.p.M));
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (split_) {
      codes_to_float_split(in[0].data, int64_t(xf_.size()), s_.x, xf_.data(), xl_.data(), threads_);
      conv_->run_nhwc(xf_.data(), yf_.data());
      conv_->run_nhwc(xl_.data(), yl_.data());
      requantize_float_rows(yf_.data(), int64_t(yf_.size()) / s_.p.M, s_.p.M, s_.b(), s_.q.requant,
                            out[0].data, s_.y.type, threads_, yl_.data());
      return;
    }
    if (!float_exact_) {
      kernels::qconv16_reference(s_.p, s_.q, in[0].data, s_.w.data(), s_.b(), out[0].data);
      return;
    }
    codes_to_float(in[0].data, int64_t(xf_.size()), s_.x, xf_.data(), threads_);
    conv_->run_nhwc(xf_.data(), yf_.data());
    requantize_float_rows(yf_.data(), int64_t(yf_.size()) / s_.p.M, s_.p.M, s_.b(), s_.q.requant,
                          out[0].data, s_.y.type, threads_);
  }
  std::string_view impl_name() const override {
    return float_exact_ ? "qconv16_exact_f32" : split_ ? "qconv16_exact_f32_split" : "qconv16_exact_int64";
  }

 private:
  QConv16Setup s_;
  int threads_;
  bool float_exact_ = false, split_ = false;
  std::unique_ptr<kernels::Conv2dNhwc> conv_;
  std::vector<float> xf_, yf_, xl_, yl_;
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
  QLinear16ExactKernel(QLinear16Setup s, int threads) : s_(std::move(s)), threads_(threads) {
    float_exact_ = max_abs_accumulator(s_.w, s_.N, s_.K, s_.x) < kExactFloatLimit;
    split_ = !float_exact_ && 256.0 * max_abs_row_sum(s_.w, s_.N, s_.K) < kExactFloatLimit;
    if (!float_exact_ && !split_) return;
    std::vector<float> wf(s_.w.begin(), s_.w.end());
    packed_.pack(wf.data(), size_t(s_.K), size_t(s_.N), 1, s_.K);
    af_.resize(size_t(s_.M * s_.K));
    cf_.resize(size_t(s_.M * s_.N));
    if (split_) {
      al_.resize(af_.size());
      cl_.resize(cf_.size());
    }
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    if (split_) {
      codes_to_float_split(in[0].data, int64_t(af_.size()), s_.x, af_.data(), al_.data(), threads_);
      kernels::gemm_packed(size_t(s_.M), af_.data(), size_t(s_.K), packed_, cf_.data(), size_t(s_.N),
                           nullptr, -INFINITY, INFINITY, threads_);
      kernels::gemm_packed(size_t(s_.M), al_.data(), size_t(s_.K), packed_, cl_.data(), size_t(s_.N),
                           nullptr, -INFINITY, INFINITY, threads_);
      requantize_float_rows(cf_.data(), s_.M, s_.N, s_.b(), s_.rq, out[0].data, s_.y.type, threads_,
                            cl_.data());
      return;
    }
    if (!float_exact_) {
      kernels::qgemm16_reference(s_.M, s_.N, s_.K, s_.a(in[0].data), s_.w.data(), s_.ep(),
                                 out[0].data, s_.N);
      return;
    }
    codes_to_float(in[0].data, int64_t(af_.size()), s_.x, af_.data(), threads_);
    kernels::gemm_packed(size_t(s_.M), af_.data(), size_t(s_.K), packed_, cf_.data(), size_t(s_.N),
                         nullptr, -INFINITY, INFINITY, threads_);
    requantize_float_rows(cf_.data(), s_.M, s_.N, s_.b(), s_.rq, out[0].data, s_.y.type, threads_);
  }
  std::string_view impl_name() const override {
    return float_exact_ ? "qgemm16_exact_f32" : split_ ? "qgemm16_exact_f32_split" : "qgemm16_exact_int64";
  }

 private:
  QLinear16Setup s_;
  int threads_;
  bool float_exact_ = false, split_ = false;
  kernels::PackedB packed_;
  std::vector<float> af_, cf_, al_, cl_;
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
