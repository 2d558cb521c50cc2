#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/parallel.h"
#include "simd/reduce.h"

namespace octet::kernels {

void softmax_reference(const float* x, float* y, int64_t outer, int64_t n, int64_t inner,
                       bool log) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* xs = x + o * n * inner + i;
      float* ys = y + o * n * inner + i;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < n; ++k) m = std::max(m, xs[k * inner]);
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(xs[k * inner]) - m);
      for (int64_t k = 0; k < n; ++k) {
        double v = static_cast<double>(xs[k * inner]) - m;
        ys[k * inner] = static_cast<float>(log ? v - std::log(sum) : std::exp(v) / sum);
      }
    }
}

void softmax_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log,
                 int threads) {
  const size_t len = static_cast<size_t>(n);
  if (inner == 1) {
    parallel_for(outer, threads, [&](int64_t o, int) {
      const float* xr = x + o * n;
      float* yr = y + o * n;
      const float m = simd::reduce_max(xr, len);
      const float s = simd::exp_shifted_sum(xr, yr, len, m);
      if (log) simd::add_scalar(xr, yr, len, -(m + std::log(s)));
      else simd::scale(yr, yr, len, 1.f / s);
    });
    return;
  }
  // Strided axis: work on whole rows of `inner` values at a time.
  const size_t w = static_cast<size_t>(inner);
  parallel_region(threads, [&] {
    std::vector<float> m(w), s(w);
#pragma omp for schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      const float* xb = x + o * n * inner;
      float* yb = y + o * n * inner;
      std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
      for (int64_t k = 0; k < n; ++k) simd::max_into(m.data(), xb + k * inner, w);
      std::fill(s.begin(), s.end(), 0.f);
      for (int64_t k = 0; k < n; ++k) {
        simd::exp_sub(xb + k * inner, m.data(), yb + k * inner, w);
        simd::add_into(s.data(), yb + k * inner, w);
      }
      if (log) {
        for (size_t i = 0; i < w; ++i) s[i] = m[i] + std::log(s[i]);
        for (int64_t k = 0; k < n; ++k)
          for (size_t i = 0; i < w; ++i) yb[k * inner + i] = xb[k * inner + i] - s[i];
      } else {
        for (size_t i = 0; i < w; ++i) s[i] = 1.f / s[i];
        for (int64_t k = 0; k < n; ++k) simd::mul(yb + k * inner, s.data(), yb + k * inner, w);
      }
    }
  });
}

}  // namespace octet::kernels
