// LayerNormalization over the last `n` values of each of `rows` rows (f32).
#pragma once
#include <cstdint>

namespace octet::kernels {

struct LayerNormParams {
  int64_t rows = 0, n = 0;
  float epsilon = 1e-5f;
};

// scale has n values; bias has n values or is null; mean / inv_std (rows values) may be null.
void layernorm_reference(const LayerNormParams& p, const float* x, const float* scale,
                         const float* bias, float* y, float* mean, float* inv_std);
void layernorm_f32(const LayerNormParams& p, const float* x, const float* scale, const float* bias,
                   float* y, float* mean, float* inv_std, int threads);

}  // namespace octet::kernels
