// Quantize-dequantize (fake quantization) of f32 data with AIMET's arithmetic:
//   q = clamp(round_half_even(x / scale) - offset, qmin, qmax),  y = (q + offset) * scale
// (offset <= 0 is minus the zero point in the unsigned view; qmin/qmax bound q).
// Per-tensor (one scale) or per-channel along one axis: data viewed as [outer, channels, inner].
// The arithmetic is simd/quantize.h's (the scalar reference is its element function); NaN
// passes through.
#pragma once
#include <cstdint>
#include <vector>

namespace octet::kernels {

struct FakeQuantParams {
  std::vector<float> scale;     // one, or one per channel
  std::vector<int32_t> offset;  // same count as scale
  int32_t qmin = 0, qmax = 255;
  int64_t outer = 1, channels = 1, inner = 1;  // layout when per-channel
};

void fake_quant_f32_reference(const FakeQuantParams& p, const float* x, float* y, int64_t count);
void fake_quant_f32(const FakeQuantParams& p, const float* x, float* y, int64_t count, int threads);

}  // namespace octet::kernels
