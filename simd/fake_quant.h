// SIMD quantize-dequantize of one run sharing a scale and offset (see kernels/fake_quant.h).
#pragma once
#include <cstdint>

namespace octet::simd {

void fake_quant_f32(const float* x, float* y, int64_t count, float scale, int32_t offset,
                    int32_t qmin, int32_t qmax);

}  // namespace octet::simd
