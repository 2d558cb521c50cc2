// The 8-bit encoding an integer graph gives a float constant that has none (e.g. the grid an
// Add adds to a quantized tensor): asymmetric over the constant's own [min(0, lo), max(0, hi)],
// at least 0.01 wide. One formula for the lowering (which quantizes the constant with it) and the
// QDQ export (which writes it as the constant's QuantizeLinear / DequantizeLinear, so that a
// runtime fusing the op sees the same codes).
#pragma once
#include <optional>

#include "engine/graph.h"

namespace octet {

// Empty unless `t` is a float32 constant of known shape, all finite, without an encoding.
std::optional<QuantParams> own_range_encoding(const TensorInfo& t);

// An int32 bias code: round_half_even(bias / scale) in float (scale = x_scale * w_scale, a float
// product), saturated — the integer lowering's and ONNX Runtime's bias quantization alike.
int32_t int32_bias_code(float bias, float scale);

}  // namespace octet
