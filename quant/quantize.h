// Quantize, dequantize and fused quantize-dequantize over spans, per tensor / channel / block.
//
// Arithmetic (AIMET v2's order: x / scale rounded half to even, + zp, then clamp):
//   q  = clamp(roundeven(x / scale) + zp, qmin, qmax)       x' = (q - zp) * scale
// in float32 with scale = float(enc.scale) and zp = -offset (shifted for signed codes, below).
// NaN: quantize gives the zero point (code of 0.0); fused qdq keeps NaN. +-inf saturate.
//
// Code domains: kUnsigned gives AIMET's q in [0, N] (zp = -offset). kSigned gives
// q_s = q - shift, shift = 2^(b-1) (AIMET's shiftToSigned), except for
// strict-symmetric encodings where shift = 2^(b-1) - 1 so that q_s lies in
// [-(2^(b-1)-1), 2^(b-1)-1] (int8: never -128) and a symmetric grid keeps zero at code 0.
// The dequantized value is the same in both domains.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quant/encoding.h"

namespace octet::quant {

enum class CodeDomain { kUnsigned, kSigned };

// The float parameters of one encoding in one code domain.
struct QParams {
  float scale = 1.0f;
  float zero_point = 0.0f;  // integer-valued
  float qmin = 0.0f;        // integer-valued code bounds
  float qmax = 255.0f;
};
QParams qparams(const Encoding& e, CodeDomain domain);

// A TensorEncoding bound to a tensor shape: the per-encoding float parameters, ready to run.
struct PreparedQuant {
  AxisLayout layout;
  int axis = -1;
  int block_size = 0;
  std::vector<float> scale;       // one per encoding
  std::vector<float> zero_point;  // one per encoding
  float qmin = 0.0f, qmax = 255.0f;
};

// Validates `te` against `shape` (throws octet::Error naming `what`) and prepares it.
PreparedQuant prepare_quant(const TensorEncoding& te, std::span<const int64_t> shape,
                            CodeDomain domain, const std::string& what = "encoding");

// Element counts must equal p.layout.size(). The code type must hold [qmin, qmax] (checked).
// `reference` selects the plain scalar loops; otherwise the Highway kernels (identical results).
template <typename T>
void quantize(std::span<const float> x, std::span<T> q, const PreparedQuant& p,
              bool reference = false);
template <typename T>
void dequantize(std::span<const T> q, std::span<float> y, const PreparedQuant& p,
                bool reference = false);
void quantize_dequantize(std::span<const float> x, std::span<float> y, const PreparedQuant& p,
                         bool reference = false);

// Per-tensor preparation of one encoding for n elements.
PreparedQuant prepare_quant(const Encoding& e, size_t n, CodeDomain domain,
                            const std::string& what = "encoding");

extern template void quantize<int32_t>(std::span<const float>, std::span<int32_t>,
                                       const PreparedQuant&, bool);
extern template void quantize<int16_t>(std::span<const float>, std::span<int16_t>,
                                       const PreparedQuant&, bool);
extern template void quantize<uint16_t>(std::span<const float>, std::span<uint16_t>,
                                        const PreparedQuant&, bool);
extern template void quantize<int8_t>(std::span<const float>, std::span<int8_t>,
                                      const PreparedQuant&, bool);
extern template void quantize<uint8_t>(std::span<const float>, std::span<uint8_t>,
                                       const PreparedQuant&, bool);
extern template void dequantize<int32_t>(std::span<const int32_t>, std::span<float>,
                                         const PreparedQuant&, bool);
extern template void dequantize<int16_t>(std::span<const int16_t>, std::span<float>,
                                         const PreparedQuant&, bool);
extern template void dequantize<uint16_t>(std::span<const uint16_t>, std::span<float>,
                                          const PreparedQuant&, bool);
extern template void dequantize<int8_t>(std::span<const int8_t>, std::span<float>,
                                        const PreparedQuant&, bool);
extern template void dequantize<uint8_t>(std::span<const uint8_t>, std::span<float>,
                                         const PreparedQuant&, bool);

}  // namespace octet::quant
