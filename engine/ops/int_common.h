// Shared helpers of the integer-graph op bindings (engine/ops/int_*.cc): per-tensor quantization
// parameters, the `requant` attribute, the fused-activation code range, the output dtype and the
// kernel choice. Conventions: /work/notes/int_ops.md (issue 4).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "engine/op.h"
#include "kernels/qcodes.h"
#include "kernels/requant.h"

namespace octet::intops {

template <typename... Parts>
[[noreturn]] void node_fail(const Node& n, const Parts&... parts) {
  fail(n.op_type, " node '", n.name, "': ", parts...);
}

struct TensorQuant {
  float scale = 1.f;
  int32_t zero_point = 0;
};

// The per-tensor (scale, zero point) of a u8 / i8 tensor; throws naming the node and the tensor
// when the dtype is not u8 / i8 or the parameters are missing, per-channel, non-finite,
// non-positive or the zero point is outside the dtype's range.
inline TensorQuant tensor_quant(const Node& n, const TensorInfo& t, const char* role) {
  if (!kernels::is_code8(t.dtype))
    node_fail(n, role, " '", t.name, "' must be u8 or i8, not ", dtype_name(t.dtype));
  const QuantParams& q = t.quant;
  if (q.scale.empty())
    node_fail(n, role, " '", t.name, "' has no quantization parameters");
  if (q.scale.size() != 1 || q.zero_point.size() > 1 || q.block_size != 0)
    node_fail(n, role, " '", t.name, "' needs per-tensor quantization parameters (got ",
              q.scale.size(), " scales, ", q.zero_point.size(), " zero points)");
  TensorQuant r;
  r.scale = q.scale[0];
  r.zero_point = q.zero_point.empty() ? 0 : q.zero_point[0];
  if (!std::isfinite(r.scale) || !(r.scale > 0.f))
    node_fail(n, role, " '", t.name, "' has scale ", r.scale, " (must be finite and positive)");
  if (r.zero_point < kernels::code8_min(t.dtype) || r.zero_point > kernels::code8_max(t.dtype))
    node_fail(n, role, " '", t.name, "' has zero point ", r.zero_point, " outside the ",
              dtype_name(t.dtype), " range");
  return r;
}

inline kernels::RequantScheme requant_scheme(const Node& n) {
  const std::string s = n.attrs.get_string("requant", "fp32");
  if (s != "fp32" && s != "fixed-point" && s != "fixed-point-single")
    node_fail(n, "requant must be fp32, fixed-point or fixed-point-single, got '", s, "'");
  return kernels::parse_requant_scheme(s);
}

// The output's code range: the dtype's, intersected with the fused activation's
// [_act_min, _act_max] (real values) quantized with the output encoding:
// q = zp + roundeven(act / scale) (float division, ONNX QuantizeLinear rounding).
struct CodeRange {
  int32_t qmin = 0, qmax = 255;
};
inline CodeRange activation_range(const Node& n, DType t, const TensorQuant& y) {
  const float lo = n.attrs.get_float("_act_min", -INFINITY);
  const float hi = n.attrs.get_float("_act_max", INFINITY);
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    node_fail(n, "bad _act_min/_act_max range [", lo, ", ", hi, "]");
  CodeRange r{kernels::code8_min(t), kernels::code8_max(t)};
  auto code = [&](float v) {
    const double q = double(y.zero_point) + double(__builtin_roundevenf(v / y.scale));
    return q < r.qmin ? double(r.qmin) : q > r.qmax ? double(r.qmax) : q;
  };
  if (std::isfinite(lo)) r.qmin = std::max(r.qmin, int32_t(code(lo)));
  if (std::isfinite(hi)) r.qmax = std::min(r.qmax, int32_t(code(hi)));
  if (r.qmin > r.qmax)
    node_fail(n, "_act_min/_act_max [", lo, ", ", hi, "] leave no output code");
  return r;
}

// The dtype of output i: the declared one when it is u8 / i8 (set by the lowering), else
// `fallback` (typically input 0's).
inline DType declared_output_dtype(const InferContext& ctx, size_t i, DType fallback) {
  const TensorId id = ctx.node().outputs.at(i);
  if (id == kNoTensor) return fallback;
  const DType t = ctx.graph().tensor(id).dtype;
  return kernels::is_code8(t) ? t : fallback;
}

// The reference kernels in `exact` mode and when the session asks for them; the optimized ones
// otherwise (`int` mode).
inline bool use_reference(const PrepareContext& ctx) {
  return ctx.reference || ctx.mode == ExecutionMode::kExact;
}

}  // namespace octet::intops
