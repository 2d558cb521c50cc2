// Quantize-dequantize (fake quantization) of f32 data with AIMET's arithmetic:
//   q = clamp(round_half_even(x / scale) - offset, qmin, qmax),  y = (q + offset) * scale
// (offset <= 0 is minus the zero point in the unsigned view; qmin/qmax bound q).
// Per-tensor (one scale), per-channel along one axis (data viewed as [outer, channels, inner]),
// or per block: `block` consecutive indices along the axis share a scale, the scales forming the
// grid [outer, ceil(channels / block), inner] (ONNX's blocked layout).
// The arithmetic is simd/quantize.h's (the scalar reference is its element function); NaN
// passes through.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace octet::kernels {

struct FakeQuantParams {
  std::vector<float> scale;     // one, or one per channel
  std::vector<int32_t> offset;  // same count as scale
  int32_t qmin = 0, qmax = 255;
  int64_t outer = 1, channels = 1, inner = 1;  // layout when per-channel or per-block
  int64_t block = 0;                           // > 0: per-block along the axis

  // Index of the scale of element i.
  size_t scale_index(int64_t i) const {
    if (scale.size() == 1) return 0;
    const int64_t c = (i / inner) % channels;
    if (block == 0) return static_cast<size_t>(c);
    const int64_t o = i / (inner * channels), blocks = (channels + block - 1) / block;
    return static_cast<size_t>((o * blocks + c / block) * inner + i % inner);
  }
};

void fake_quant_f32_reference(const FakeQuantParams& p, const float* x, float* y, int64_t count);
void fake_quant_f32(const FakeQuantParams& p, const float* x, float* y, int64_t count, int threads);

}  // namespace octet::kernels
