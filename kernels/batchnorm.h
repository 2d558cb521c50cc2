// Inference BatchNormalization: y = (x - mean) / sqrt(var + eps) * scale + B.
#pragma once
#include <cstdint>
#include <vector>

namespace octet::kernels {

struct BatchNormShape {
  int64_t N = 1, C = 1, S = 1;  // batch, channels, spatial size (product of the rest)
  bool nhwc = false;            // channels last: x is N x S x C
  bool per_element = false;     // opset <= 8 spatial=0: parameters have C*S entries
};

// Reference straight from the formula.
void batchnorm_reference(const BatchNormShape& s, const float* x, const float* scale,
                         const float* bias, const float* mean, const float* var, float eps,
                         float* y);

// Folds the parameters into y = x * a + b (a, b have C or C*S entries).
void batchnorm_fold(int64_t count, const float* scale, const float* bias, const float* mean,
                    const float* var, float eps, std::vector<float>& a, std::vector<float>& b);
void batchnorm_apply(const BatchNormShape& s, const float* x, const float* a, const float* b,
                     float* y, int threads);

}  // namespace octet::kernels
