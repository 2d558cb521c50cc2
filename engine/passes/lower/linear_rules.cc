// Conv, Gemm and MatMul on codes: 8-bit, W8A16 and per-block int4 weights.
#include <algorithm>
#include <cmath>
#include "base/error.h"
#include "engine/passes/lower/lowerer.h"
#include "simd/round_half_even.h"

namespace octet::lowering {

using simd::round_half_even;

bool Lowerer::lower_conv(const Node& node, std::string* why) {
  if (node.attrs.get_string("_layout", "NCHW") != "NHWC")
    return *why = "not channels-last", false;
  auto x = act_enc(node.inputs[0]);
  auto y = act_enc(node.outputs[0]);
  if (!x || !y) return lower_wide(node, why);
  if (in_.tensor(node.inputs[1]).quant.block_size > 0) return lower_blockwise_conv(node, *y, why);
  auto w = weights(node.inputs[1], 0, why);
  if (!w) return false;
  std::optional<TensorId> b;
  if (node.has_input(2)) {
    b = bias_constant(node.inputs[2], int64_t(w->scales.size()), x->scale, w->scales, why);
    if (!b) return false;
  }
  Node n;
  n.name = node.name;
  n.op_type = "octet.QConv";
  n.attrs = node.attrs;
  n.attrs.set("requant", std::string(requant_name()));
  n.inputs = {code_of(node.inputs[0]),
              weight_constant(in_.tensor(node.inputs[1]).name + "_q", *w,
                              in_.tensor(node.inputs[1]).shape.concrete())};
  if (b) n.inputs.push_back(*b);
  n.outputs = {code_output(node.outputs[0], *y)};
  emit(std::move(n));
  return true;
}

bool Lowerer::lower_linear(const Node& node, std::string* why) {
  const bool gemm = node.op_type == "Gemm";
  auto x = act_enc(node.inputs[0]);
  auto y = act_enc(node.outputs[0]);
  if (!x || !y) return lower_wide(node, why);
  const Dims a = in_.tensor(node.inputs[0]).shape.concrete();
  int axis = 1;  // output channels of B [K, N]
  if (gemm) {
    if (node.attrs.get_float("alpha", 1.f) != 1.f || node.attrs.get_float("beta", 1.f) != 1.f ||
        node.attrs.get_int("transA", 0) != 0 || a.size() != 2)
      return *why = "Gemm with alpha/beta != 1 or transA", false;
    if (node.attrs.get_int("transB", 0) != 0) axis = 0;
  }
  const TensorInfo& bt = in_.tensor(node.inputs[1]);
  if (!bt.is_constant() || bt.shape.rank() != 2) return *why = "weights are not a 2-D constant", false;
  if (bt.quant.block_size > 0) return lower_blockwise_linear(node, axis, *x, *y, why);
  auto w = weights(node.inputs[1], axis, why);
  if (!w) return false;
  const int64_t N = int64_t(w->scales.size()), K = int64_t(w->codes.size()) / N;
  std::optional<TensorId> b;
  if (gemm && node.has_input(2)) {
    b = bias_constant(node.inputs[2], N, x->scale, w->scales, why);
    if (!b) return false;
  }
  Node n;
  n.name = node.name;
  n.op_type = gemm ? "octet.QGemm" : "octet.QMatMul";
  n.attrs.set("requant", std::string(requant_name()));
  for (const char* k : {"_act_min", "_act_max"})
    if (node.attrs.has(k)) n.attrs.set(k, node.attrs.get_float(k, 0.f));
  n.inputs = {code_of(node.inputs[0]), weight_constant(bt.name + "_q", *w, {N, K})};
  if (b) n.inputs.push_back(*b);
  n.outputs = {code_output(node.outputs[0], *y)};
  emit(std::move(n));
  return true;
}

// W8A16: Conv / Gemm / MatMul whose input or output has a 16-bit encoding (the other one 8-
// or 16-bit), weights of at most 8 bits; the bias becomes i64 (TFLite 16x8's int64 bias),
// `_out_type` names the output code type when it differs from the input's.
bool Lowerer::lower_wide(const Node& node, std::string* why) {
  auto x = any_enc(node.inputs[0]);
  auto y = any_enc(node.outputs[0]);
  if (!x) return *why = why_no_enc(node.inputs[0]), false;
  if (!y) return *why = why_no_enc(node.outputs[0]), false;
  const bool conv = node.op_type == "Conv", gemm = node.op_type == "Gemm";
  if (conv && node.attrs.get_string("_layout", "NCHW") != "NHWC")
    return *why = "not channels-last", false;
  int axis = conv ? 0 : 1;
  if (gemm) {
    const Dims a = in_.tensor(node.inputs[0]).shape.concrete();
    if (node.attrs.get_float("alpha", 1.f) != 1.f || node.attrs.get_float("beta", 1.f) != 1.f ||
        node.attrs.get_int("transA", 0) != 0 || a.size() != 2)
      return *why = "Gemm with alpha/beta != 1 or transA", false;
    if (node.attrs.get_int("transB", 0) != 0) axis = 0;
  }
  const TensorInfo& bt = in_.tensor(node.inputs[1]);
  if (!conv && (!bt.is_constant() || bt.shape.rank() != 2))
    return *why = "weights are not a 2-D constant", false;
  if (bt.quant.block_size > 0) return *why = "per-block weights with 16-bit activations", false;
  auto w = weights(node.inputs[1], axis, why);
  if (!w) return false;
  const int64_t N = int64_t(w->scales.size()), K = int64_t(w->codes.size()) / N;
  std::optional<TensorId> b;
  if ((conv || gemm) && node.has_input(2)) {
    b = bias_constant64(node.inputs[2], N, x->scale, w->scales, why);
    if (!b) return false;
  }
  Node n;
  n.name = node.name;
  n.op_type = conv ? "octet.QConv" : gemm ? "octet.QGemm" : "octet.QMatMul";
  if (conv) {
    n.attrs = node.attrs;
  } else {
    for (const char* k : {"_act_min", "_act_max"})
      if (node.attrs.has(k)) n.attrs.set(k, node.attrs.get_float(k, 0.f));
  }
  n.attrs.set("requant", std::string(requant_name()));
  if (y->type != x->type) n.attrs.set("_out_type", std::string(code_type_attr(y->type)));
  n.inputs = {code_of(node.inputs[0]),
              conv ? weight_constant(bt.name + "_q", *w, bt.shape.concrete())
                   : weight_constant(bt.name + "_q", *w, {N, K})};
  if (b) n.inputs.push_back(*b);
  n.outputs = {code_output(node.outputs[0], *y)};
  emit(std::move(n));
  return true;
}

// Conv with per-block int4 weights (kernels/qconv_blockwise.h): blocks of 32, 64 or 128 input
// channels along axis 1 of [M, C/group, KH, KW] (C/group a multiple of the block). The
// weights become i4 in their ONNX layout with the blocked scales [M, C/group / block, KH, KW]
// (axis 1), the bias stays real-valued f32.
bool Lowerer::lower_blockwise_conv(const Node& node, const ActEnc& y, std::string* why) {
  const TensorInfo& t = in_.tensor(node.inputs[1]);
  const QuantParams& q = t.quant;
  if (!t.is_constant() || t.dtype != DType::kF32)
    return *why = "weights are not a float constant", false;
  const Dims dims = t.shape.concrete();
  if (dims.size() < 3) return *why = "per-block weights of a Conv need [M, C/group, k...]", false;
  const int64_t group = node.attrs.get_int("group", 1);
  const int64_t M = dims[0], Cg = dims[1], B = q.block_size;
  if (group > 1 && Cg == 1)
    return *why = "per-block weights on a depthwise Conv (C/group = 1 cannot hold blocks)", false;
  if (q.bitwidth > 4 || !q.symmetric)
    return *why = "per-block weights run on the int4 kernels: 4-bit symmetric only", false;
  if (B != 32 && B != 64 && B != 128)
    return *why = "per-block weights need blocks of 32, 64 or 128 input channels", false;
  if (Cg % B != 0)
    return *why = "per-block weights: C/group = " + std::to_string(Cg) +
                  " is not a multiple of the block " + std::to_string(B), false;
  int64_t T = 1;
  for (size_t d = 2; d < dims.size(); ++d) T *= dims[d];
  const int64_t Cb = Cg / B;
  if (q.axis != 1 || int64_t(q.scale.size()) != M * Cb * T ||
      q.zero_point.size() != q.scale.size())
    return *why = "per-block weights are not blocked along the input channels (axis 1)", false;
  const auto* v = reinterpret_cast<const float*>(t.data->data());
  Weights w;
  w.bits = q.bitwidth;
  w.codes.resize(size_t(M * Cg * T));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t cb = 0; cb < Cb; ++cb)
      for (int64_t i = 0; i < T; ++i) {
        // Blocked layout of axis 1: scale (m, cb, i) covers w[m, cb * B .. cb * B + B - 1, i].
        const size_t qi = size_t((m * Cb + cb) * T + i);
        const auto range = weight_code_range(q, qi, 4);
        if (!range) return *why = "weights' zero point is not symmetric", false;
        const auto [lo, hi] = *range;
        const float s = q.scale[qi];
        if (!(std::isfinite(s) && s > 0.f)) return *why = "per-block weight scale is not positive", false;
        for (int64_t c = cb * B; c < (cb + 1) * B; ++c) {
          const size_t e = size_t((m * Cg + c) * T + i);
          w.codes[e] = int8_t(std::clamp(round_half_even(v[e] / s), float(lo), float(hi)));
        }
      }
  w.scales = q.scale;
  Node n;
  n.name = node.name;
  n.op_type = "octet.QConv";
  n.attrs = node.attrs;
  n.attrs.set("requant", std::string(requant_name()));
  if (node.has_input(2)) {
    const TensorInfo& bt = in_.tensor(node.inputs[2]);
    if (!bt.is_constant() || bt.dtype != DType::kF32 || checked_numel(bt.shape.concrete()) != M)
      return *why = "bias is not a float constant of one value per output", false;
  }
  const TensorId wc = weight_constant(t.name + "_q", w, dims);
  QuantParams& wq = out_.tensor(wc).quant;
  wq.axis = 1;
  wq.block_size = int32_t(B);
  n.inputs = {code_of(node.inputs[0]), wc};
  if (node.has_input(2)) n.inputs.push_back(plain_of(node.inputs[2]));
  n.outputs = {code_output(node.outputs[0], y)};
  emit(std::move(n));
  return true;
}

// Gemm / MatMul with per-block int4 weights (kernels/qgemm.h QGemmBlockwise): the weights
// become i4 [N][K] with scales [N][K / block], the bias stays real-valued f32.
bool Lowerer::lower_blockwise_linear(const Node& node, int channel_axis, const ActEnc& x, const ActEnc& y,
                            std::string* why) {
  const TensorInfo& t = in_.tensor(node.inputs[1]);
  const QuantParams& q = t.quant;
  const Dims dims = t.shape.concrete();
  const int reduction_axis = 1 - channel_axis;
  const int64_t N = dims[size_t(channel_axis)], K = dims[size_t(reduction_axis)], B = q.block_size;
  if (q.bitwidth > 4 || !q.symmetric)
    return *why = "per-block weights run on the int4 kernels: 4-bit symmetric only", false;
  if ((B != 32 && B != 64 && B != 128) || K % B != 0 || q.axis != reduction_axis ||
      int64_t(q.scale.size()) != N * (K / B))
    return *why = "per-block weights need blocks of 32, 64 or 128 along K", false;
  const int64_t blocks = K / B;
  const auto* v = reinterpret_cast<const float*>(t.data->data());
  Weights w;
  w.bits = q.bitwidth;
  w.codes.resize(size_t(N * K));
  std::vector<float> scales(size_t(N * blocks));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < blocks; ++b) {
      // Blocked layout of the stored tensor: [N, K] along axis 1 -> n * blocks + b;
      // [K, N] along axis 0 -> b * N + n.
      const size_t qi = size_t(reduction_axis == 1 ? n * blocks + b : b * N + n);
      const auto range = weight_code_range(q, qi, 4);
      if (!range) return *why = "weights' zero point is not symmetric", false;
      const auto [lo, hi] = *range;
      const float s = q.scale[qi];
      scales[size_t(n * blocks + b)] = s;
      for (int64_t k = b * B; k < (b + 1) * B; ++k) {
        const float wv = reduction_axis == 1 ? v[n * K + k] : v[k * N + n];
        w.codes[size_t(n * K + k)] = int8_t(std::clamp(round_half_even(wv / s), float(lo), float(hi)));
      }
    }
  w.scales = scales;
  const TensorId wc = weight_constant(t.name + "_q", w, {N, K});
  QuantParams& wq = out_.tensor(wc).quant;
  wq.axis = 1;
  wq.block_size = int32_t(B);
  Node n;
  n.name = node.name;
  n.op_type = node.op_type == "Gemm" ? "octet.QGemm" : "octet.QMatMul";
  n.attrs.set("requant", std::string(requant_name()));
  for (const char* k : {"_act_min", "_act_max"})
    if (node.attrs.has(k)) n.attrs.set(k, node.attrs.get_float(k, 0.f));
  n.inputs = {code_of(node.inputs[0]), wc};
  if (node.op_type == "Gemm" && node.has_input(2)) {
    const TensorInfo& bt = in_.tensor(node.inputs[2]);
    if (!bt.is_constant() || bt.dtype != DType::kF32 || checked_numel(bt.shape.concrete()) != N)
      return *why = "bias is not a float constant of one value per output", false;
    n.inputs.push_back(plain_of(node.inputs[2]));
  }
  n.outputs = {code_output(node.outputs[0], y)};
  emit(std::move(n));
  return true;
}

}  // namespace octet::lowering
