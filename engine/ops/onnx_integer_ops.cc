// ONNX's integer ops: QLinearConv, QLinearMatMul (quantized in, quantized out; ONNX Runtime's
// fp32 requantization), ConvInteger, MatMulInteger (int32 out).
//
// Two paths. Fast: weights (w / B) constant s8 with zero point 0 (the common case of models
// quantized by other tools) run on kernels::QConv2dNhwc (NCHW codes transposed around it) or
// kernels::qgemm. General (any u8/s8 codes and zero points, runtime weights, per-row zero
// points): kernels/qlinear_reference.h in int32, then the same requantization. The reference
// kernel flag always picks the general path; both give the same bits.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <tuple>
#include <vector>

#include "engine/op.h"
#include "engine/ops/nn_common.h"
#include "engine/ops/op_groups.h"
#include "kernels/cast.h"
#include "kernels/qconv.h"
#include "kernels/qgemm.h"
#include "kernels/qlinear_reference.h"

namespace octet {
namespace {

// A copy of a node's name and op type (what errors at run time name).
Node who(const Node& n) {
  Node m;
  m.name = n.name;
  m.op_type = n.op_type;
  return m;
}

bool is_code_type(DType t) { return t == DType::kU8 || t == DType::kI8; }

int64_t numel_of(const Dims& d) { return checked_numel(d); }

// ---- reading scales and zero points (run time, or constants at prepare)

TensorRef const_ref(const TensorInfo& t) {
  TensorRef r;
  r.dtype = t.dtype;
  r.dims = t.shape.concrete();
  r.data = const_cast<std::byte*>(t.data->data());
  if (t.data->size() < dtype_storage_bytes(t.dtype, checked_numel(r.dims)))
    fail("constant '", t.name, "' is truncated");
  return r;
}

std::vector<float> read_scales(const Node& node, const TensorRef& r, const char* what) {
  const int64_t n = r.numel();
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    v[i] = r.dtype == DType::kF16 ? kernels::half_to_float(static_cast<const uint16_t*>(r.data)[i])
                                  : static_cast<const float*>(r.data)[i];
    if (!(v[i] > 0.f) || !std::isfinite(v[i]))
      node_fail(node, what, " must be finite and positive, got ", v[i]);
  }
  return v;
}

// Zero points as int32; an omitted input (null data) reads as `count` zeros.
std::vector<int32_t> read_zps(const TensorRef& r, int64_t count_if_absent = 1) {
  if (!r.data) return std::vector<int32_t>(static_cast<size_t>(count_if_absent), 0);
  const int64_t n = r.numel();
  std::vector<int32_t> v(static_cast<size_t>(n));
  kernels::IntCodes c{r.data, r.dtype == DType::kI8};
  for (int64_t i = 0; i < n; ++i) v[i] = c.at(i);
  return v;
}

void check_scale_input(const InferContext& ctx, size_t i, const char* what) {
  const DType t = ctx.input_dtype(i);
  OCTET_NODE_CHECK(ctx, t == DType::kF32 || t == DType::kF16, what, " must be float or float16, not ",
                   dtype_name(t));
}

void check_code_input(const InferContext& ctx, size_t i, const char* what) {
  OCTET_NODE_CHECK(ctx, is_code_type(ctx.input_dtype(i)), what, " must be uint8 or int8, not ",
                   dtype_name(ctx.input_dtype(i)), " (not supported)");
}

// A per-tensor (1 value) or per-channel (`channels` values, rank <= 1) parameter.
void check_count(const InferContext& ctx, size_t i, const char* what, int64_t channels) {
  if (!ctx.has_input(i)) return;
  const Dims d = ctx.input_dims(i);
  const int64_t n = numel_of(d);
  OCTET_NODE_CHECK(ctx, n == 1 || (channels > 0 && d.size() == 1 && n == channels), what,
                   " must have 1", channels > 0 ? " or " + std::to_string(channels) : std::string(),
                   " values, has shape ", dims_to_string(d));
}

// ---- convolution geometry: the float Conv's (one set of attribute checks); these ops run NCHW
// (rank 3 as H = 1) and take no fused activation.

nn::ConvGeom qconv_geom(const Node& node, const Dims& x, const Dims& w) {
  nn::ConvGeom g = nn::conv_geom(node, x, w, /*transpose=*/false);
  if (g.nhwc) node_fail(node, "runs NCHW only; '_layout' NHWC is not supported");
  if (node.attrs.has("_act_min") || node.attrs.has("_act_max"))
    node_fail(node, "takes no fused activation (_act_min/_act_max)");
  return g;
}

// ---- byte layout transposes for u8/s8 codes

void nchw_to_nhwc_u8(const uint8_t* x, uint8_t* y, int64_t N, int64_t C, int64_t S) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const uint8_t* src = x + (n * C + c) * S;
      uint8_t* dst = y + n * S * C + c;
      for (int64_t s = 0; s < S; ++s) dst[s * C] = src[s];
    }
}

void nhwc_to_nchw_u8(const uint8_t* x, uint8_t* y, int64_t N, int64_t C, int64_t S) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) {
      const uint8_t* src = x + (n * S + s) * C;
      uint8_t* dst = y + n * C * S + s;
      for (int64_t c = 0; c < C; ++c) dst[c * S] = src[c];
    }
}

// Constant s8 weights with zero point 0 (absent, or every value 0) and no -128 (the
// optimized kernels take symmetric weights in [-127, 127]).
bool fast_weights(const PrepareContext& ctx, size_t w_index, size_t zp_index) {
  if (ctx.reference) return false;
  const TensorInfo& w = ctx.input(w_index);
  if (!w.is_constant() || w.dtype != DType::kI8) return false;
  if (ctx.has_input(zp_index)) {
    const TensorInfo& z = ctx.input(zp_index);
    if (!z.is_constant()) return false;
    for (int32_t v : read_zps(const_ref(z)))
      if (v != 0) return false;
  }
  const TensorRef r = const_ref(w);
  const int8_t* p = r.as<int8_t>();
  for (int64_t i = 0, n = r.numel(); i < n; ++i)
    if (p[i] == -128) return false;
  return true;
}

bool all_constant(const PrepareContext& ctx, std::initializer_list<size_t> inputs) {
  for (size_t i : inputs)
    if (ctx.has_input(i) && !ctx.input(i).is_constant()) return false;
  return true;
}

std::vector<int32_t> expand(const std::vector<int32_t>& v, int64_t n) {
  return v.size() == 1 ? std::vector<int32_t>(static_cast<size_t>(n), v[0]) : v;
}
std::vector<float> expand(const std::vector<float>& v, int64_t n) {
  return v.size() == 1 ? std::vector<float>(static_cast<size_t>(n), v[0]) : v;
}

std::pair<int32_t, int32_t> code_range(DType t) {
  return t == DType::kU8 ? std::pair<int32_t, int32_t>{0, 255} : std::pair<int32_t, int32_t>{-128, 127};
}

// =====================================================================================
// QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?) and
// ConvInteger (x, w, x_zp?, w_zp?)

template <bool kQLinear>
struct ConvIdx {
  static constexpr size_t x = 0, xs = 1, xzp = kQLinear ? 2 : 2, w = kQLinear ? 3 : 1, ws = 4,
                          wzp = kQLinear ? 5 : 3, ys = 6, yzp = 7, bias = 8;
};

template <bool kQLinear>
void infer_conv(InferContext& ctx) {
  using I = ConvIdx<kQLinear>;
  check_code_input(ctx, I::x, "input x");
  check_code_input(ctx, I::w, "weights w");
  const nn::ConvGeom g = qconv_geom(ctx.node(), ctx.input_dims(I::x), ctx.input_dims(I::w));
  const int64_t M = g.p.M;
  if (ctx.has_input(I::xzp))
    OCTET_NODE_CHECK(ctx, ctx.input_dtype(I::xzp) == ctx.input_dtype(I::x), "x_zero_point type differs from x");
  if (ctx.has_input(I::wzp))
    OCTET_NODE_CHECK(ctx, ctx.input_dtype(I::wzp) == ctx.input_dtype(I::w), "w_zero_point type differs from w");
  check_count(ctx, I::xzp, "x_zero_point", 0);
  check_count(ctx, I::wzp, "w_zero_point", M);
  if constexpr (kQLinear) {
    for (size_t i : {I::xs, I::xzp, I::ws, I::wzp, I::ys, I::yzp})
      OCTET_NODE_CHECK(ctx, ctx.has_input(i), "input ", i, " is required");
    check_scale_input(ctx, I::xs, "x_scale");
    check_scale_input(ctx, I::ws, "w_scale");
    check_scale_input(ctx, I::ys, "y_scale");
    check_code_input(ctx, I::yzp, "y_zero_point");
    check_count(ctx, I::xs, "x_scale", 0);
    check_count(ctx, I::ws, "w_scale", M);
    check_count(ctx, I::ys, "y_scale", 0);
    check_count(ctx, I::yzp, "y_zero_point", 0);
    if (ctx.has_input(I::bias)) {
      OCTET_NODE_CHECK(ctx, ctx.input_dtype(I::bias) == DType::kI32, "bias B must be int32");
      const Dims b = ctx.input_dims(I::bias);
      OCTET_NODE_CHECK(ctx, b.size() == 1 && b[0] == M, "bias B must have shape [", M, "], has ",
                       dims_to_string(b));
    }
    ctx.set_output(0, ctx.input_dtype(I::yzp), g.out);
  } else {
    ctx.set_output(0, DType::kI32, g.out);
  }
}

// General path: integer reference in int32 (NCHW), then the requantization.
template <bool kQLinear>
class ConvGeneralKernel final : public Kernel {
  using I = ConvIdx<kQLinear>;

 public:
  ConvGeneralKernel(const Node& node, kernels::ConvParams p, DType out_type)
      : node_(who(node)), p_(p), out_type_(out_type) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const kernels::IntCodes x{in[I::x].data, in[I::x].dtype == DType::kI8};
    const kernels::IntCodes w{in[I::w].data, in[I::w].dtype == DType::kI8};
    const int32_t xzp = read_zps(in.size() > I::xzp ? in[I::xzp] : TensorRef{})[0];
    const std::vector<int32_t> wzp = expand(read_zps(in.size() > I::wzp ? in[I::wzp] : TensorRef{}), p_.M);
    const int64_t S = p_.OH * p_.OW;
    if constexpr (!kQLinear) {
      kernels::int_conv2d_nchw_reference(p_, x, xzp, w, wzp.data(), out[0].as<int32_t>());
    } else {
      acc_.resize(static_cast<size_t>(p_.N * p_.M * S));
      kernels::int_conv2d_nchw_reference(p_, x, xzp, w, wzp.data(), acc_.data());
      const float xs = read_scales(node_, in[I::xs], "x_scale")[0];
      const float ys = read_scales(node_, in[I::ys], "y_scale")[0];
      const std::vector<float> ws = expand(read_scales(node_, in[I::ws], "w_scale"), p_.M);
      const int32_t yzp = read_zps(in[I::yzp])[0];
      const int32_t* bias = in.size() > I::bias && in[I::bias].data ? static_cast<const int32_t*>(in[I::bias].data) : nullptr;
      for (int64_t n = 0; n < p_.N; ++n)
        for (int64_t m = 0; m < p_.M; ++m) {
          const float mult = kernels::onnx_fp32_multiplier(xs, ws[m], ys).multiplier;
          const int64_t o = (n * p_.M + m) * S;
          for (int64_t s = 0; s < S; ++s) {
            const int32_t a = bias ? kernels::wrapping_add(acc_[o + s], bias[m]) : acc_[o + s];
            kernels::store_requantized(a, mult, yzp, out_type_, out[0].data, o + s);
          }
        }
    }
  }
  std::string_view impl_name() const override {
    return kQLinear ? "qlinearconv_reference" : "convinteger_reference";
  }

 private:
  Node node_;  // name and op type, for errors
  kernels::ConvParams p_;
  DType out_type_;
  std::vector<int32_t> acc_;
};

// QLinearConv fast path: QConv2dNhwc with NCHW <-> NHWC byte transposes around it.
class QLinearConvFastKernel final : public Kernel {
 public:
  QLinearConvFastKernel(const kernels::ConvParams& p, const kernels::QConvQuant& q, const int8_t* w,
                        const int32_t* bias, int threads)
      : p_(p), conv_(p, q, w, bias, threads, kernels::qgemm_best_isa()) {
    xt_.resize(static_cast<size_t>(p.N * p.C * p.H * p.W));
    yt_.resize(static_cast<size_t>(p.N * p.M * p.OH * p.OW));
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    nchw_to_nhwc_u8(static_cast<const uint8_t*>(in[0].data), xt_.data(), p_.N, p_.C, p_.H * p_.W);
    conv_.run(xt_.data(), yt_.data());
    nhwc_to_nchw_u8(yt_.data(), static_cast<uint8_t*>(out[0].data), p_.N, p_.M, p_.OH * p_.OW);
  }
  std::string_view impl_name() const override { return "qlinearconv_qconv2d_nhwc"; }

 private:
  kernels::ConvParams p_;
  kernels::QConv2dNhwc conv_;
  std::vector<uint8_t> xt_, yt_;
};

// ConvInteger fast path: im2col (NCHW, padding = x's zero point) + qgemm to int32 per group.
class ConvIntegerFastKernel final : public Kernel {
 public:
  ConvIntegerFastKernel(const kernels::ConvParams& p, const int8_t* w, int threads)
      : p_(p), threads_(threads) {
    const int64_t Cg = p.C / p.group, Mg = p.M / p.group;
    K_ = Cg * p.KH * p.KW;
    for (int64_t g = 0; g < p.group; ++g)
      packed_.emplace_back(w + g * Mg * K_, Mg, K_, kernels::qgemm_best_isa());
    col_.resize(static_cast<size_t>(p.OH * p.OW * K_));
    acc_.resize(static_cast<size_t>(p.OH * p.OW * Mg));
  }
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const bool x_signed = in[0].dtype == DType::kI8;
    const int32_t xzp = read_zps(in.size() > 2 ? in[2] : TensorRef{})[0];
    const uint8_t pad = static_cast<uint8_t>(xzp);
    const auto* x = static_cast<const uint8_t*>(in[0].data);
    int32_t* y = out[0].as<int32_t>();
    const int64_t Cg = p_.C / p_.group, Mg = p_.M / p_.group, S = p_.OH * p_.OW;
    for (int64_t n = 0; n < p_.N; ++n)
      for (int64_t g = 0; g < p_.group; ++g) {
        // im2col rows: one per output position, K = (c, kh, kw) as in the ONNX weights.
        for (int64_t oh = 0; oh < p_.OH; ++oh)
          for (int64_t ow = 0; ow < p_.OW; ++ow) {
            uint8_t* row = col_.data() + (oh * p_.OW + ow) * K_;
            for (int64_t c = 0; c < Cg; ++c) {
              const uint8_t* plane = x + ((n * p_.C + g * Cg + c) * p_.H) * p_.W;
              for (int64_t kh = 0; kh < p_.KH; ++kh) {
                const int64_t ih = oh * p_.sh - p_.pt + kh * p_.dh;
                for (int64_t kw = 0; kw < p_.KW; ++kw) {
                  const int64_t iw = ow * p_.sw - p_.pl + kw * p_.dw;
                  *row++ = ih >= 0 && ih < p_.H && iw >= 0 && iw < p_.W ? plane[ih * p_.W + iw] : pad;
                }
              }
            }
          }
        kernels::QGemmA a{col_.data(), K_, x_signed, xzp};
        kernels::QGemmEpilogue ep;
        ep.out_type = DType::kI32;
        kernels::qgemm_parallel(S, a, packed_[g], ep, acc_.data(), Mg, threads_);
        for (int64_t s = 0; s < S; ++s)
          for (int64_t j = 0; j < Mg; ++j) y[(n * p_.M + g * Mg + j) * S + s] = acc_[s * Mg + j];
      }
  }
  std::string_view impl_name() const override { return "convinteger_im2col_qgemm"; }

 private:
  kernels::ConvParams p_;
  int threads_;
  int64_t K_ = 0;
  std::vector<kernels::QGemmPackedB> packed_;
  std::vector<uint8_t> col_;
  std::vector<int32_t> acc_;
};

template <bool kQLinear>
std::unique_ptr<Kernel> prepare_conv(const PrepareContext& ctx) {
  using I = ConvIdx<kQLinear>;
  const nn::ConvGeom g = qconv_geom(ctx.node, ctx.input_dims(I::x), ctx.input_dims(I::w));
  const DType out_type = ctx.output(0).dtype;
  if (fast_weights(ctx, I::w, I::wzp)) {
    const int8_t* w = const_ref(ctx.input(I::w)).template as<int8_t>();
    if constexpr (!kQLinear) {
      return std::make_unique<ConvIntegerFastKernel>(g.p, w, ctx.threads);
    } else if (all_constant(ctx, {I::xs, I::xzp, I::ws, I::ys, I::yzp, I::bias})) {
      kernels::QConvQuant q;
      q.x_signed = ctx.input(I::x).dtype == DType::kI8;
      q.x_zero_point = read_zps(const_ref(ctx.input(I::xzp)))[0];
      q.out_type = out_type;
      const float xs = read_scales(ctx.node, const_ref(ctx.input(I::xs)), "x_scale")[0];
      const float ys = read_scales(ctx.node, const_ref(ctx.input(I::ys)), "y_scale")[0];
      const std::vector<float> ws = read_scales(ctx.node, const_ref(ctx.input(I::ws)), "w_scale");
      q.requant.scheme = kernels::RequantScheme::kFp32;
      for (float s : ws) q.requant.multipliers.push_back(kernels::onnx_fp32_multiplier(xs, s, ys));
      q.requant.zero_point = read_zps(const_ref(ctx.input(I::yzp)))[0];
      std::tie(q.requant.qmin, q.requant.qmax) = code_range(out_type);
      const int32_t* bias =
          ctx.has_input(I::bias) ? const_ref(ctx.input(I::bias)).template as<int32_t>() : nullptr;
      return std::make_unique<QLinearConvFastKernel>(g.p, q, w, bias, ctx.threads);
    }
  }
  return std::make_unique<ConvGeneralKernel<kQLinear>>(ctx.node, g.p, out_type);
}

// =====================================================================================
// QLinearMatMul (a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp) and
// MatMulInteger (A, B, a_zp?, b_zp?): numpy matmul broadcasting.

struct MatMulGeom {
  Dims a, b;           // promoted to rank >= 2
  Dims out;            // the ONNX output shape
  Dims batch;          // broadcast batch dims of the output
  int64_t M = 1, N = 1, K = 1;
  int64_t batches = 1, a_batches = 1, b_batches = 1;
};

MatMulGeom matmul_geom(const Node& node, Dims a, Dims b) {
  if (a.empty() || b.empty()) node_fail(node, "inputs must have rank >= 1");
  MatMulGeom g;
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  g.M = a[a.size() - 2];
  g.K = a.back();
  g.N = b.back();
  if (b[b.size() - 2] != g.K)
    node_fail(node, "inner dimensions differ: ", dims_to_string(a), " x ", dims_to_string(b));
  const size_t ra = a.size() - 2, rb = b.size() - 2, r = std::max(ra, rb);
  g.batch.assign(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i + ra >= r ? a[i + ra - r] : 1;
    const int64_t db = i + rb >= r ? b[i + rb - r] : 1;
    if (da != db && da != 1 && db != 1)
      node_fail(node, "batch dimensions do not broadcast: ", dims_to_string(a), " x ", dims_to_string(b));
    g.batch[i] = da == 1 ? db : da;
  }
  for (size_t i = 0; i < ra; ++i) g.a_batches *= a[i];
  for (size_t i = 0; i < rb; ++i) g.b_batches *= b[i];
  g.batches = checked_numel(g.batch);
  g.out = g.batch;
  if (!a1) g.out.push_back(g.M);
  if (!b1) g.out.push_back(g.N);
  g.a = a;
  g.b = b;
  checked_numel(g.out);
  return g;
}

// How a per-row (A side) or per-column (B side) parameter is laid out.
enum class Gran { kTensor, kVector, kBatched };

// A side: 1 value, 1-D [M], or A's (promoted) shape with the last dim 1 (per batch and row).
// B side: 1 value, 1-D [N], or B's shape with dim -2 equal to 1.
Gran granularity(const Node& node, const Dims& v, const Dims& x, bool rows, int64_t len,
                 const char* what, bool allow_batched) {
  if (numel_of(v) == 1 && v.size() <= x.size()) return Gran::kTensor;
  if (v.size() == 1 && v[0] == len) return Gran::kVector;
  if (allow_batched && v.size() == x.size()) {
    bool ok = true;
    for (size_t i = 0; i < x.size(); ++i) {
      const bool reduced = rows ? i == x.size() - 1 : i == x.size() - 2;
      ok = ok && v[i] == (reduced ? 1 : x[i]);
    }
    if (ok) return Gran::kBatched;
  }
  node_fail(node, what, " has shape ", dims_to_string(v), ": expected one value, or one per ",
            rows ? "row" : "column", " (", len, ")");
}

// The parameter for batch `bt` (of that side's batches), index `i` (row or column).
template <typename T>
T param_at(const std::vector<T>& v, Gran g, int64_t bt, int64_t i, int64_t len) {
  switch (g) {
    case Gran::kTensor: return v[0];
    case Gran::kVector: return v[static_cast<size_t>(i)];
    default: return v[static_cast<size_t>(bt * len + i)];
  }
}

template <bool kQLinear>
struct MmIdx {
  static constexpr size_t a = 0, as = 1, azp = kQLinear ? 2 : 2, b = kQLinear ? 3 : 1, bs = 4,
                          bzp = kQLinear ? 5 : 3, ys = 6, yzp = 7;
};

struct MmGrans {
  Gran azp = Gran::kTensor, bzp = Gran::kTensor, as = Gran::kTensor, bs = Gran::kTensor,
       ys = Gran::kTensor, yzp = Gran::kTensor;
};

template <bool kQLinear>
MmGrans mm_grans(const Node& node, const MatMulGeom& g, auto has, auto dims) {
  using I = MmIdx<kQLinear>;
  MmGrans r;
  // MatMulInteger documents N-D zero points; QLinearMatMul scalars or 1-D vectors.
  if (has(I::azp)) r.azp = granularity(node, dims(I::azp), g.a, true, g.M, "a_zero_point", !kQLinear);
  if (has(I::bzp)) r.bzp = granularity(node, dims(I::bzp), g.b, false, g.N, "b_zero_point", !kQLinear);
  if constexpr (kQLinear) {
    r.as = granularity(node, dims(I::as), g.a, true, g.M, "a_scale", false);
    r.bs = granularity(node, dims(I::bs), g.b, false, g.N, "b_scale", false);
    r.ys = granularity(node, dims(I::ys), g.a, true, g.M, "y_scale", false);
    r.yzp = granularity(node, dims(I::yzp), g.a, true, g.M, "y_zero_point", false);
  }
  return r;
}

template <bool kQLinear>
void infer_matmul(InferContext& ctx) {
  using I = MmIdx<kQLinear>;
  check_code_input(ctx, I::a, "input A");
  check_code_input(ctx, I::b, "input B");
  const MatMulGeom g = matmul_geom(ctx.node(), ctx.input_dims(I::a), ctx.input_dims(I::b));
  if (ctx.has_input(I::azp))
    OCTET_NODE_CHECK(ctx, ctx.input_dtype(I::azp) == ctx.input_dtype(I::a), "a_zero_point type differs from A");
  if (ctx.has_input(I::bzp))
    OCTET_NODE_CHECK(ctx, ctx.input_dtype(I::bzp) == ctx.input_dtype(I::b), "b_zero_point type differs from B");
  if constexpr (kQLinear) {
    for (size_t i : {I::as, I::azp, I::bs, I::bzp, I::ys, I::yzp})
      OCTET_NODE_CHECK(ctx, ctx.has_input(i), "input ", i, " is required");
    check_scale_input(ctx, I::as, "a_scale");
    check_scale_input(ctx, I::bs, "b_scale");
    check_scale_input(ctx, I::ys, "y_scale");
    check_code_input(ctx, I::yzp, "y_zero_point");
  }
  mm_grans<kQLinear>(ctx.node(), g, [&](size_t i) { return ctx.has_input(i); },
                     [&](size_t i) { return ctx.input_dims(i); });
  ctx.set_output(0, kQLinear ? ctx.input_dtype(I::yzp) : DType::kI32, g.out);
}

// Batch offsets (in elements of one matrix) of A and B for output batch `bt`.
void batch_offsets(const MatMulGeom& g, int64_t bt, int64_t* ai, int64_t* bi) {
  const size_t r = g.batch.size(), ra = g.a.size() - 2, rb = g.b.size() - 2;
  int64_t a_idx = 0, b_idx = 0, a_stride = 1, b_stride = 1;
  for (size_t k = r; k-- > 0;) {
    const int64_t i = bt % g.batch[k];
    bt /= g.batch[k];
    if (k + ra >= r) {
      const int64_t d = g.a[k + ra - r];
      if (d != 1) a_idx += i * a_stride;
      a_stride *= d;
    }
    if (k + rb >= r) {
      const int64_t d = g.b[k + rb - r];
      if (d != 1) b_idx += i * b_stride;
      b_stride *= d;
    }
  }
  *ai = a_idx;
  *bi = b_idx;
}

template <bool kQLinear>
class MatMulGeneralKernel final : public Kernel {
  using I = MmIdx<kQLinear>;

 public:
  MatMulGeneralKernel(const Node& node, MatMulGeom g, MmGrans gr, DType out_type)
      : node_(who(node)), g_(std::move(g)), gr_(gr), out_type_(out_type) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    const int64_t M = g_.M, N = g_.N, K = g_.K;
    auto opt = [&](size_t i) { return in.size() > i ? in[i] : TensorRef{}; };
    const std::vector<int32_t> azp = read_zps(opt(I::azp)), bzp = read_zps(opt(I::bzp));
    std::vector<int32_t> arow(static_cast<size_t>(M)), bcol(static_cast<size_t>(N));
    std::vector<float> as, bs, ys;
    std::vector<int32_t> yzp;
    if constexpr (kQLinear) {
      as = read_scales(node_, in[I::as], "a_scale");
      bs = read_scales(node_, in[I::bs], "b_scale");
      ys = read_scales(node_, in[I::ys], "y_scale");
      yzp = read_zps(in[I::yzp]);
      acc_.resize(static_cast<size_t>(M * N));
    }
    const kernels::IntCodes a0{in[I::a].data, in[I::a].dtype == DType::kI8};
    const kernels::IntCodes b0{in[I::b].data, in[I::b].dtype == DType::kI8};
    for (int64_t bt = 0; bt < g_.batches; ++bt) {
      int64_t ai, bi;
      batch_offsets(g_, bt, &ai, &bi);
      for (int64_t m = 0; m < M; ++m) arow[m] = param_at(azp, gr_.azp, ai, m, M);
      for (int64_t n = 0; n < N; ++n) bcol[n] = param_at(bzp, gr_.bzp, bi, n, N);
      kernels::IntCodes a = a0, b = b0;
      a.data = static_cast<const uint8_t*>(a0.data) + ai * M * K;
      b.data = static_cast<const uint8_t*>(b0.data) + bi * K * N;
      if constexpr (!kQLinear) {
        kernels::int_matmul_reference(M, N, K, a, arow.data(), b, bcol.data(),
                                      out[0].as<int32_t>() + bt * M * N);
      } else {
        kernels::int_matmul_reference(M, N, K, a, arow.data(), b, bcol.data(), acc_.data());
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            const float mult = kernels::onnx_fp32_multiplier(
                param_at(as, gr_.as, ai, m, M), param_at(bs, gr_.bs, bi, n, N),
                param_at(ys, gr_.ys, ai, m, M)).multiplier;
            kernels::store_requantized(acc_[m * N + n], mult, param_at(yzp, gr_.yzp, ai, m, M),
                                       out_type_, out[0].data, (bt * M + m) * N + n);
          }
      }
    }
  }
  std::string_view impl_name() const override {
    return kQLinear ? "qlinearmatmul_reference" : "matmulinteger_reference";
  }

 private:
  Node node_;  // name and op type, for errors
  MatMulGeom g_;
  MmGrans gr_;
  DType out_type_;
  std::vector<int32_t> acc_;
};

// Fast path: B constant 2-D s8 with zero point 0, A's zero point (and for QLinearMatMul A's and
// Y's scales and Y's zero point) per tensor: qgemm over all rows of A.
template <bool kQLinear>
class MatMulFastKernel final : public Kernel {
  using I = MmIdx<kQLinear>;

 public:
  MatMulFastKernel(const Node& node, const MatMulGeom& g, const int8_t* b_kn, DType out_type, int threads)
      : node_(who(node)), rows_(g.batches * g.M), N_(g.N), K_(g.K), out_type_(out_type), threads_(threads),
        packed_(transpose(b_kn, g.K, g.N).data(), g.N, g.K, kernels::qgemm_best_isa()) {}
  void run(std::span<const TensorRef> in, std::span<TensorRef> out) override {
    auto opt = [&](size_t i) { return in.size() > i ? in[i] : TensorRef{}; };
    kernels::QGemmA a{in[I::a].data, K_, in[I::a].dtype == DType::kI8, read_zps(opt(I::azp))[0]};
    kernels::QGemmEpilogue ep;
    kernels::Requantizer rq;
    if constexpr (kQLinear) {
      const float as = read_scales(node_, in[I::as], "a_scale")[0];
      const float ys = read_scales(node_, in[I::ys], "y_scale")[0];
      rq.scheme = kernels::RequantScheme::kFp32;
      for (float s : read_scales(node_, in[I::bs], "b_scale"))
        rq.multipliers.push_back(kernels::onnx_fp32_multiplier(as, s, ys));
      rq.zero_point = read_zps(in[I::yzp])[0];
      std::tie(rq.qmin, rq.qmax) = code_range(out_type_);
      ep.requant = &rq;
      ep.out_type = out_type_;
    } else {
      ep.out_type = DType::kI32;
    }
    kernels::qgemm_parallel(rows_, a, packed_, ep, out[0].data, N_, threads_);
  }
  std::string_view impl_name() const override {
    return kQLinear ? "qlinearmatmul_qgemm" : "matmulinteger_qgemm";
  }

 private:
  static std::vector<int8_t> transpose(const int8_t* b, int64_t K, int64_t N) {
    std::vector<int8_t> t(static_cast<size_t>(K * N));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) t[n * K + k] = b[k * N + n];
    return t;
  }
  Node node_;  // name and op type, for errors
  int64_t rows_, N_, K_;
  DType out_type_;
  int threads_;
  kernels::QGemmPackedB packed_;
};

template <bool kQLinear>
std::unique_ptr<Kernel> prepare_matmul(const PrepareContext& ctx) {
  using I = MmIdx<kQLinear>;
  const MatMulGeom g = matmul_geom(ctx.node, ctx.input_dims(I::a), ctx.input_dims(I::b));
  const MmGrans gr = mm_grans<kQLinear>(ctx.node, g, [&](size_t i) { return ctx.has_input(i); },
                                        [&](size_t i) { return ctx.input_dims(i); });
  const DType out_type = ctx.output(0).dtype;
  const bool per_tensor_a = gr.azp == Gran::kTensor && gr.as == Gran::kTensor &&
                            gr.ys == Gran::kTensor && gr.yzp == Gran::kTensor;
  if (per_tensor_a && ctx.input_dims(I::b).size() == 2 && fast_weights(ctx, I::b, I::bzp) &&
      checked_numel(g.out) > 0 && g.K > 0) {
    const int8_t* b = const_ref(ctx.input(I::b)).template as<int8_t>();
    return std::make_unique<MatMulFastKernel<kQLinear>>(ctx.node, g, b, out_type, ctx.threads);
  }
  return std::make_unique<MatMulGeneralKernel<kQLinear>>(ctx.node, g, gr, out_type);
}

}  // namespace

void register_onnx_integer_ops(OpRegistry& r) {
  {
    OpSchema s;
    s.name = "QLinearConv";
    s.min_inputs = 8;
    s.max_inputs = 9;
    s.infer = infer_conv<true>;
    s.prepare = prepare_conv<true>;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "ConvInteger";
    s.min_inputs = 2;
    s.max_inputs = 4;
    s.infer = infer_conv<false>;
    s.prepare = prepare_conv<false>;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "QLinearMatMul";
    s.min_inputs = 8;
    s.max_inputs = 8;
    s.infer = infer_matmul<true>;
    s.prepare = prepare_matmul<true>;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "MatMulInteger";
    s.min_inputs = 2;
    s.max_inputs = 4;
    s.infer = infer_matmul<false>;
    s.prepare = prepare_matmul<false>;
    r.add(std::move(s));
  }
}

}  // namespace octet
