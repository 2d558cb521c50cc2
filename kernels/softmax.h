// Softmax / LogSoftmax over the middle axis of an (outer, n, inner) view.
#pragma once
#include <cstdint>

namespace octet::kernels {

void softmax_reference(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log);
void softmax_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log,
                 int threads);

}  // namespace octet::kernels
