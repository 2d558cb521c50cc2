// ONNX QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear on f32 data.
//   quantize:   q = saturate(round_half_even(x / scale) + zero_point)   (float32 math)
//   dequantize: y = float(q - zero_point) * scale
// Integer types: i8, u8, i16, u16, i32 (dequantize only), and packed i4/u4 (two values a
// byte, low nibble first). x is viewed as [outer, channels, inner] around the quantization
// axis; the scale (and zero point) index of an element (o, c, i) is
//   per-tensor: 0;  per-axis: c;  blocked: (o * ceil(channels / block) + c / block) * inner + i.
#pragma once
#include <cstdint>
#include <vector>

#include "base/dtype.h"

namespace octet::kernels {

enum class QdqGranularity { kPerTensor, kPerAxis, kBlocked };

struct QdqLayout {
  QdqGranularity granularity = QdqGranularity::kPerTensor;
  int64_t outer = 1, channels = 1, inner = 1;
  int64_t block = 0;  // kBlocked only
  int64_t count() const { return outer * channels * inner; }
  int64_t params() const;  // number of scales the layout expects
};

// The integer range of a quantized type.
bool qdq_int_type(DType t);  // i8, u8, i16, u16, i4, u4 (the QuantizeLinear outputs)
int32_t qdq_min(DType t);
int32_t qdq_max(DType t);

// Zero points (`count` of type t, null: all 0) widened to int32.
std::vector<int32_t> qdq_zero_points(DType t, const void* zp, int64_t count);

// zp: layout.params() int32 values (qdq_zero_points). y: `out` storage (4-bit packed).
void quantize_linear_reference(const QdqLayout& l, const float* x, const float* scale,
                               const int32_t* zp, DType out, void* y);
void quantize_linear(const QdqLayout& l, const float* x, const float* scale, const int32_t* zp,
                     DType out, void* y, int threads);
void dequantize_linear_reference(const QdqLayout& l, DType in, const void* x, const float* scale,
                                 const int32_t* zp, float* y);
void dequantize_linear(const QdqLayout& l, DType in, const void* x, const float* scale,
                       const int32_t* zp, float* y, int threads);

// DynamicQuantizeLinear (uint8): scale = (max(0, max x) - min(0, min x)) / 255,
// zero_point = saturate(round(-min / scale)); an all-zero x gives scale 0, zero point 0, q 0.
void dynamic_quantize_linear(const float* x, int64_t count, uint8_t* y, float* scale,
                             uint8_t* zero_point);

}  // namespace octet::kernels
