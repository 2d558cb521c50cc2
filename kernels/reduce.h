// ReduceSum / ReduceMean / ReduceMax / ReduceMin over any set of axes (f32).
#pragma once
#include <cstdint>
#include <vector>

namespace octet::kernels {

enum class ReduceKind { kSum, kMean, kMax, kMin };

// Plain reference: `reduced[a]` marks the reduced axes of `dims`; y has the kept dims.
void reduce_reference(ReduceKind kind, const float* x, float* y, const std::vector<int64_t>& dims,
                      const std::vector<bool>& reduced);
// Optimized: reduce the middle axis of an (outer, n, inner) view.
void reduce_f32(ReduceKind kind, const float* x, float* y, int64_t outer, int64_t n, int64_t inner,
                int threads);

}  // namespace octet::kernels
