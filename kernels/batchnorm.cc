#include "kernels/batchnorm.h"

#include <cmath>

#include "kernels/parallel.h"

namespace octet::kernels {

namespace {
inline int64_t param_index(const BatchNormShape& s, int64_t c, int64_t i) {
  return s.per_element ? c * s.S + i : c;
}
}  // namespace

void batchnorm_reference(const BatchNormShape& s, const float* x, const float* scale,
                         const float* bias, const float* mean, const float* var, float eps,
                         float* y) {
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t i = 0; i < s.S; ++i) {
        const int64_t k = param_index(s, c, i);
        const int64_t at = s.nhwc ? (n * s.S + i) * s.C + c : (n * s.C + c) * s.S + i;
        y[at] = (x[at] - mean[k]) / std::sqrt(var[k] + eps) * scale[k] + bias[k];
      }
}

void batchnorm_fold(int64_t count, const float* scale, const float* bias, const float* mean,
                    const float* var, float eps, std::vector<float>& a, std::vector<float>& b) {
  a.resize(static_cast<size_t>(count));
  b.resize(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    a[k] = scale[k] / std::sqrt(var[k] + eps);
    b[k] = bias[k] - mean[k] * a[k];
  }
}

void batchnorm_apply(const BatchNormShape& s, const float* x, const float* a, const float* b,
                     float* y, int threads) {
  const long work = static_cast<long>(s.N * s.C * s.S);
  if (!s.nhwc) {
    const long planes = static_cast<long>(s.N * s.C);
    parallel_for(planes, (threads > 1 && work > 32768) ? threads : 1, [&](int64_t pl, int) {
      const int64_t c = pl % s.C;
      const float* xp = x + pl * s.S;
      float* yp = y + pl * s.S;
      if (s.per_element) {
        const float* ap = a + c * s.S;
        const float* bp = b + c * s.S;
        for (int64_t i = 0; i < s.S; ++i) yp[i] = xp[i] * ap[i] + bp[i];
      } else {
        const float av = a[c], bv = b[c];
        for (int64_t i = 0; i < s.S; ++i) yp[i] = xp[i] * av + bv;
      }
    });
    return;
  }
  const long pixels = static_cast<long>(s.N * s.S);
  parallel_for(pixels, (threads > 1 && work > 32768) ? threads : 1, [&](int64_t px, int) {
    const float* xp = x + px * s.C;
    float* yp = y + px * s.C;
    if (s.per_element) {
      const int64_t i = px % s.S;
      for (int64_t c = 0; c < s.C; ++c) yp[c] = xp[c] * a[c * s.S + i] + b[c * s.S + i];
    } else {
      for (int64_t c = 0; c < s.C; ++c) yp[c] = xp[c] * a[c] + b[c];
    }
  });
}

}  // namespace octet::kernels
