// Vectorized f32 binary arithmetic over one contiguous run (Highway, run-time dispatch).
#pragma once
#include <cstddef>

namespace octet::simd {

enum class BinaryF32 : int { kAdd, kSub, kMul, kDiv, kMax, kMin, kPRelu };

// out[i] = f(a[a_scalar ? 0 : i], b[b_scalar ? 0 : i]) for i < n. kPRelu: a < 0 ? a * b : a.
// out may equal a or b.
void binary_f32(BinaryF32 op, const float* a, bool a_scalar, const float* b, bool b_scalar,
                float* out, size_t n);

}  // namespace octet::simd
