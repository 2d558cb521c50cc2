// f32 span helpers for reductions and normalizations (Highway dynamic dispatch):
// used by the pool, softmax, reduce and layernorm kernels.
#pragma once
#include <cstddef>

namespace octet::simd {

float reduce_sum(const float* x, size_t n);
float reduce_max(const float* x, size_t n);
// acc[i] += x[i]
void add_into(float* acc, const float* x, size_t n);
// acc[i] = max(acc[i], x[i])
void max_into(float* acc, const float* x, size_t n);
// y[i] = x[i] * s   (in place allowed)
void scale(const float* x, float* y, size_t n, float s);
// y[i] = x[i] + a   (in place allowed)
void add_scalar(const float* x, float* y, size_t n, float a);
// y[i] = exp(x[i] - shift); returns the sum of y (in place allowed)
float exp_shifted_sum(const float* x, float* y, size_t n, float shift);
// y[i] = exp(x[i] - m[i])  (in place allowed)
void exp_sub(const float* x, const float* m, float* y, size_t n);
// y[i] = x[i] * s[i]  (in place allowed)
void mul(const float* x, const float* s, float* y, size_t n);
// Sum of (x[i] - mean)^2.
float sum_squared_deviation(const float* x, size_t n, float mean);
// y[i] = (x[i] - mean) * inv_std * scale[i] + bias[i]; bias may be null.
void normalize_affine(const float* x, float* y, size_t n, float mean, float inv_std,
                      const float* scale, const float* bias);

}  // namespace octet::simd
