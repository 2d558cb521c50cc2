// QDQ -> integer fusion: ONNX models quantized by other tools (QuantizeLinear /
// DequantizeLinear around float ops, ONNX Runtime's "QDQ" format) rewritten to the integer ops
// of /work/notes/int_ops.md, so they run on octet's integer kernels.
//
// Pattern (each fused node):
//   DequantizeLinear(x codes u8/i8, scalar scale, scalar zp)          -> X
//   DequantizeLinear(constant i8 W, scale per tensor or per output channel, zp 0)  -> W
//     (or DequantizeLinear(QuantizeLinear(constant f32 W)) before constant folding)
//   optional bias: a float constant, or DequantizeLinear of a constant i32 (or of
//     QuantizeLinear of a float constant)
//   Conv / Gemm / MatMul (X, W, B) [-> Relu or Clip with constant bounds]
//   -> QuantizeLinear(scalar scale, scalar zp u8/i8)                  -> y codes
// becomes
//   octet.QConv (4-D: `_layout` = "NHWC" between u8/i8 Transposes, which consecutive
//   QConvs share), octet.QGemm (transA = 0, alpha = beta = 1) or octet.QMatMul (2-D constant
//   weights) reading the x codes and writing the y codes, with
//   - TensorInfo::quant on the codes (per tensor scale and ONNX zero point),
//   - weights: constant i8 with quant (scales per output channel on axis 0, or one, zero
//     point 0); Gemm / MatMul weights stored [N][K];
//   - bias: constant i32, scale x_scale * w_scale[c] (a float bias quantized with round half
//     to even of b / (x_scale * w_scale[c]) in double; an i32 bias of another scale rescaled);
//   - `requant` (options.requant), `_act_min` / `_act_max` from a fused Relu / Clip.
// DequantizeLinear / QuantizeLinear nodes nothing reads any more are removed; everything else
// (QuantizeLinear after the graph input, DequantizeLinear before the output, float ops between
// DQ and Q such as a residual Add) stays. The input and output codes must have the same type
// (the integer ops' convention); other near-matches stay float and the report says why.
//
// Runs on a loaded graph before constant folding (which would turn DQ(constant) into a float
// constant) or on any graph whose weights are still DequantizeLinear of constants; shapes may
// be symbolic. New tensors get dtypes (and shapes where the source's are concrete).
#pragma once
#include <string>

#include "engine/passes/passes.h"

namespace octet {

struct QdqFusionOptions {
  std::string requant = "fp32";  // the integer ops' `requant` attribute
};

PassReport fuse_qdq_to_integer(Graph& graph, const QdqFusionOptions& options = {});

}  // namespace octet
