// Resize (nearest / N-linear) with per-axis precomputed source tables (f32).
#pragma once
#include <cstdint>
#include <vector>

namespace octet::kernels {

// Per output index along one axis: source index (nearest: i0), the second source index
// and weight of i1 (linear), and whether it lies outside the crop (tf_crop_and_resize).
struct ResizeAxis {
  std::vector<int64_t> i0, i1;
  std::vector<float> w;
  std::vector<uint8_t> outside;
  // in == out and every output reads its own index with weight 0.
  bool identity(int64_t in) const;
};

struct ResizeParams {
  bool linear = false;
  std::vector<int64_t> in, out;  // dims in the tensor's actual layout
  std::vector<ResizeAxis> axes;  // one per dim
  float extrapolation_value = 0.f;
};

void resize_reference(const ResizeParams& p, const float* x, float* y);
void resize_f32(const ResizeParams& p, const float* x, float* y, int threads);

}  // namespace octet::kernels
