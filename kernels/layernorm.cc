#include "kernels/layernorm.h"

#include <cmath>

#include "kernels/parallel.h"
#include "simd/reduce.h"

namespace octet::kernels {

void layernorm_reference(const LayerNormParams& p, const float* x, const float* scale,
                         const float* bias, float* y, float* mean, float* inv_std) {
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* xr = x + r * p.n;
    float* yr = y + r * p.n;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < p.n; ++i) sum += xr[i];
    const double m = sum / static_cast<double>(p.n);
    for (int64_t i = 0; i < p.n; ++i) sq += (xr[i] - m) * (xr[i] - m);
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(p.n) + p.epsilon);
    for (int64_t i = 0; i < p.n; ++i)
      yr[i] = static_cast<float>((xr[i] - m) * inv * scale[i] + (bias ? bias[i] : 0.f));
    if (mean) mean[r] = static_cast<float>(m);
    if (inv_std) inv_std[r] = static_cast<float>(inv);
  }
}

void layernorm_f32(const LayerNormParams& p, const float* x, const float* scale, const float* bias,
                   float* y, float* mean, float* inv_std, int threads) {
  const size_t n = static_cast<size_t>(p.n);
  parallel_for(p.rows, threads, [&](int64_t r, int) {
    const float* xr = x + r * p.n;
    const float m = simd::reduce_sum(xr, n) / static_cast<float>(p.n);
    const float var = simd::sum_squared_deviation(xr, n, m) / static_cast<float>(p.n);
    const float inv = 1.f / std::sqrt(var + p.epsilon);
    simd::normalize_affine(xr, y + r * p.n, n, m, inv, scale, bias);
    if (mean) mean[r] = m;
    if (inv_std) inv_std[r] = inv;
  });
}

}  // namespace octet::kernels
