// Helpers shared by the integer op bindings (octet.Q* ops): reading the quantization
// parameters the lowering put on tensors (engine/passes/lower_integer.h), checked as
// untrusted data, the `requant` attribute, the fused activation's code range, the output
// dtype and the kernel choice.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/graph.h"
#include "engine/op.h"
#include "kernels/requant.h"

namespace octet::qops {

// A per-tensor activation encoding: real = scale * (code - zero_point), codes of `type`.
struct ActQuant {
  DType type = DType::kU8;
  float scale = 1.f;
  int32_t zero_point = 0;
  int32_t qmin = 0, qmax = 255;  // the code range of `type`
  bool is_signed() const { return type == DType::kI8; }
};

// Throws naming the node and tensor (`role`: "tensor", "input A", ...) unless `t` is u8/i8
// with one finite positive scale and a zero point inside the code range (none: 0).
ActQuant act_quant(const Node& node, const TensorInfo& t, const char* role = "tensor");

// The `requant` attribute (default "fp32").
kernels::RequantScheme requant_scheme(const Node& node);
// The `arithmetic` attribute of QAdd / QMul / QGlobalAveragePool: absent or "requantization"
// (the requant scheme's formulas), or "mlas" (ONNX Runtime's).
kernels::OpArithmetic op_arithmetic(const Node& node);

// The output code range narrowed by `_act_min` / `_act_max` (real values of a fused
// activation): qmin = max(type min, zp + round_half_even(act_min / scale)), likewise qmax
// (float division, ONNX QuantizeLinear rounding). Never empty: both ends are clamped into
// the type's range and act_min <= act_max.
struct CodeRange {
  int32_t qmin = 0, qmax = 255;
};
CodeRange output_code_range(const Node& node, const ActQuant& y);
inline void fused_clamp(const Node& node, const ActQuant& y, int32_t* qmin, int32_t* qmax) {
  const CodeRange r = output_code_range(node, y);
  *qmin = r.qmin;
  *qmax = r.qmax;
}

// The dtype of output i: the declared one when it holds 8-bit codes (set by the lowering),
// else `fallback` (typically input 0's).
DType declared_output_dtype(const InferContext& ctx, size_t i, DType fallback);

// The reference kernels in `exact` mode and when the session asks for them; the optimized
// ones otherwise (`int` mode).
inline bool use_reference(const PrepareContext& ctx) {
  return ctx.reference || ctx.mode == ExecutionMode::kExact;
}

// Symmetric weight codes of a constant i8 or i4 tensor (4-bit values unpacked), checked to be
// within [-128, 127] / [-8, 7].
std::vector<int8_t> weight_codes(const Node& node, const TensorInfo& w);

// One scale per output channel: the tensor's scales (per tensor: repeated), with the
// per-channel axis checked to be `channel_axis`; zero points must be 0.
std::vector<float> weight_scales(const Node& node, const TensorInfo& w, int64_t channels,
                                 int32_t channel_axis);

// Values of a constant i32 bias of `count` values.
std::vector<int32_t> bias_codes(const Node& node, const TensorInfo& b, int64_t count);

// Requantizer of an output channel set: multiplier_c = x_scale * w_scale[c] / y_scale.
kernels::Requantizer make_requantizer(const Node& node, kernels::RequantScheme scheme,
                                      const ActQuant& x, const std::vector<float>& w_scales,
                                      const ActQuant& y);

// ---- 16-bit activations (W8A16; engine/ops/q_conv_gemm16_ops.cc) ---------------------------
// True for u16 / i16 codes.
inline bool is_code16(DType t) { return t == DType::kU16 || t == DType::kI16; }
// act_quant that also accepts u16 / i16 codes (range [0, 65535] / [-32768, 32767]).
ActQuant act_quant_wide(const Node& node, const TensorInfo& t);
// The output code type of octet.QConv / QGemm / QMatMul: the attribute `_out_type` ("u8",
// "i8", "u16", "i16"; set by the lowering when it differs from the input's), else `input`.
DType out_code_type(const Node& node, DType input);
// Values of a constant i32 or i64 bias of `count` values, widened to int64.
std::vector<int64_t> bias_codes64(const Node& node, const TensorInfo& b, int64_t count);
// The wide (int64-accumulating) forms of QConv and QGemm / QMatMul, used when the input or
// the output holds 16-bit codes.
std::unique_ptr<Kernel> prepare_qconv16(const PrepareContext& ctx);
std::unique_ptr<Kernel> prepare_qlinear16(const PrepareContext& ctx);

}  // namespace octet::qops
