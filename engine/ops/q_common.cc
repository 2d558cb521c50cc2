#include "engine/ops/q_common.h"
#include "simd/round_half_even.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace octet::qops {

namespace {

// One per-tensor encoding on codes of `type` (range [qmin, qmax]).
ActQuant checked_act_quant(const Node& node, const TensorInfo& t, const char* role,
                           int32_t qmin, int32_t qmax) {
  ActQuant a;
  a.type = t.dtype;
  a.qmin = qmin;
  a.qmax = qmax;
  const QuantParams& q = t.quant;
  if (q.scale.empty())
    node_fail(node, role, " '", t.name, "' has no quantization parameters");
  if (q.scale.size() != 1 || q.zero_point.size() > 1 || q.block_size != 0)
    node_fail(node, role, " '", t.name, "' needs per-tensor quantization parameters (got ",
              q.scale.size(), " scales, ", q.zero_point.size(), " zero points)");
  a.scale = q.scale[0];
  a.zero_point = q.zero_point.empty() ? 0 : q.zero_point[0];
  if (!(std::isfinite(a.scale) && a.scale > 0.f))
    node_fail(node, role, " '", t.name, "' has scale ", a.scale, " (must be finite, > 0)");
  if (a.zero_point < a.qmin || a.zero_point > a.qmax)
    node_fail(node, role, " '", t.name, "' has zero point ", a.zero_point, " outside [", a.qmin,
              ", ", a.qmax, "]");
  return a;
}

}  // namespace

ActQuant act_quant(const Node& node, const TensorInfo& t, const char* role) {
  if (t.dtype == DType::kU8) return checked_act_quant(node, t, role, 0, 255);
  if (t.dtype == DType::kI8) return checked_act_quant(node, t, role, -128, 127);
  node_fail(node, role, " '", t.name, "' must hold u8 or i8 codes, not ", dtype_name(t.dtype));
}

ActQuant act_quant_wide(const Node& node, const TensorInfo& t) {
  if (t.dtype == DType::kU16) return checked_act_quant(node, t, "tensor", 0, 65535);
  if (t.dtype == DType::kI16) return checked_act_quant(node, t, "tensor", -32768, 32767);
  return act_quant(node, t);
}

DType declared_output_dtype(const InferContext& ctx, size_t i, DType fallback) {
  const TensorId id = ctx.node().outputs.at(i);
  if (id == kNoTensor) return fallback;
  const DType t = ctx.graph().tensor(id).dtype;
  return t == DType::kU8 || t == DType::kI8 ? t : fallback;
}

DType out_code_type(const Node& node, DType input) {
  if (!node.attrs.has("_out_type")) return input;
  const std::string t = node.attrs.get_string("_out_type", "");
  if (t == "u8") return DType::kU8;
  if (t == "i8") return DType::kI8;
  if (t == "u16") return DType::kU16;
  if (t == "i16") return DType::kI16;
  node_fail(node, "_out_type must be \"u8\", \"i8\", \"u16\" or \"i16\", not \"", t, "\"");
}

std::vector<int64_t> bias_codes64(const Node& node, const TensorInfo& b, int64_t count) {
  if (!b.is_constant() || (b.dtype != DType::kI32 && b.dtype != DType::kI64))
    node_fail(node, "bias '", b.name, "' must be an i32 or i64 constant");
  if (checked_numel(b.shape.concrete()) != count)
    node_fail(node, "bias '", b.name, "' must have ", count, " values");
  const size_t es = b.dtype == DType::kI64 ? 8 : 4;
  if (b.data->size() < size_t(count) * es) node_fail(node, "bias '", b.name, "' is truncated");
  std::vector<int64_t> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    if (es == 8) {
      std::memcpy(&v[size_t(i)], b.data->data() + i * 8, 8);
    } else {
      int32_t x;
      std::memcpy(&x, b.data->data() + i * 4, 4);
      v[size_t(i)] = x;
    }
  }
  return v;
}

kernels::RequantScheme requant_scheme(const Node& node) {
  const std::string s = node.attrs.get_string("requant", "fp32");
  if (s != "fp32" && s != "fixed-point" && s != "fixed-point-single")
    node_fail(node, "requant must be fp32, fixed-point or fixed-point-single, got '", s, "'");
  return kernels::parse_requant_scheme(s);
}

kernels::OpArithmetic op_arithmetic(const Node& node) {
  const std::string s = node.attrs.get_string("arithmetic", "requantization");
  if (s == "mlas") return kernels::OpArithmetic::kMlas;
  if (s != "requantization") node_fail(node, "arithmetic must be requantization or mlas, got '", s, "'");
  return kernels::OpArithmetic::kRequantization;
}

CodeRange output_code_range(const Node& node, const ActQuant& y) {
  const float lo = node.attrs.get_float("_act_min", -INFINITY);
  const float hi = node.attrs.get_float("_act_max", INFINITY);
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    node_fail(node, "bad _act_min/_act_max range [", lo, ", ", hi, "]");
  // Monotonic in v, so the two clamped ends stay ordered.
  auto code = [&](float v) {
    const double c = double(y.zero_point) + double(simd::round_half_even(v / y.scale));
    return int32_t(std::clamp<double>(c, y.qmin, y.qmax));
  };
  CodeRange r{y.qmin, y.qmax};
  if (std::isfinite(lo)) r.qmin = code(lo);
  if (std::isfinite(hi)) r.qmax = code(hi);
  return r;
}

std::vector<int8_t> weight_codes(const Node& node, const TensorInfo& w) {
  if (!w.is_constant()) node_fail(node, "weights '", w.name, "' must be a constant");
  const int64_t n = checked_numel(w.shape.concrete());
  const size_t need = dtype_storage_bytes(w.dtype, n);
  if (w.dtype != DType::kI8 && w.dtype != DType::kI4)
    node_fail(node, "weights '", w.name, "' must be i8 or i4, not ", dtype_name(w.dtype));
  if (w.data->size() < need) node_fail(node, "weights '", w.name, "' are truncated");
  std::vector<int8_t> out(static_cast<size_t>(n));
  const auto* bytes = reinterpret_cast<const uint8_t*>(w.data->data());
  if (w.dtype == DType::kI8) {
    if (n) std::memcpy(out.data(), bytes, out.size());
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t nibble = (bytes[i / 2] >> ((i % 2) * 4)) & 0xF;
      out[size_t(i)] = int8_t(nibble >= 8 ? int(nibble) - 16 : int(nibble));
    }
  }
  return out;
}

std::vector<float> weight_scales(const Node& node, const TensorInfo& w, int64_t channels,
                                 int32_t channel_axis) {
  const QuantParams& q = w.quant;
  if (q.block_size != 0)
    node_fail(node, "weights '", w.name, "' are quantized per block, which this op does not run");
  if (q.scale.empty() || q.zero_point.size() != q.scale.size())
    node_fail(node, "weights '", w.name, "' have no valid quantization parameters");
  for (int32_t z : q.zero_point)
    if (z != 0) node_fail(node, "weights '", w.name, "' must be symmetric (zero point 0)");
  for (float s : q.scale)
    if (!(std::isfinite(s) && s > 0.f))
      node_fail(node, "weights '", w.name, "' have scale ", s, " (must be finite, > 0)");
  if (q.scale.size() == 1) return std::vector<float>(size_t(channels), q.scale[0]);
  if (q.axis != channel_axis || int64_t(q.scale.size()) != channels)
    node_fail(node, "weights '", w.name, "' have ", q.scale.size(), " scales on axis ", q.axis,
              "; expected 1 or ", channels, " on axis ", channel_axis);
  return q.scale;
}

std::vector<int32_t> bias_codes(const Node& node, const TensorInfo& b, int64_t count) {
  if (!b.is_constant() || b.dtype != DType::kI32)
    node_fail(node, "bias '", b.name, "' must be an i32 constant");
  if (checked_numel(b.shape.concrete()) != count)
    node_fail(node, "bias '", b.name, "' must have ", count, " values");
  if (b.data->size() < size_t(count) * 4) node_fail(node, "bias '", b.name, "' is truncated");
  std::vector<int32_t> v(static_cast<size_t>(count));
  if (count) std::memcpy(v.data(), b.data->data(), v.size() * 4);
  return v;
}

kernels::Requantizer make_requantizer(const Node& node, kernels::RequantScheme scheme,
                                      const ActQuant& x, const std::vector<float>& w_scales,
                                      const ActQuant& y) {
  kernels::Requantizer rq;
  rq.scheme = scheme;
  rq.zero_point = y.zero_point;
  fused_clamp(node, y, &rq.qmin, &rq.qmax);
  rq.multipliers.reserve(w_scales.size());
  try {
    for (float ws : w_scales)
      rq.multipliers.push_back(kernels::make_multiplier(scheme, x.scale, ws, y.scale));
  } catch (const Error& e) {
    node_fail(node, e.what());
  }
  return rq;
}

}  // namespace octet::qops
