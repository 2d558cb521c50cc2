// Vectorized f32 pointwise functions (Highway, dispatched at run time).
#pragma once
#include <cstddef>

namespace octet::simd {

// The pointwise unary ops, one list for the kernels and their SIMD paths. Every op has an f32
// form except kNot (bool codes only; kernels/unary.h).
enum class UnaryOp : int {
  kRelu,
  kLeakyRelu,        // x < 0 ? alpha * x : x
  kThresholdedRelu,  // x > alpha ? x : 0
  kClip,             // min(max(x, alpha), beta)
  kHardSigmoid,      // clamp(alpha * x + beta, 0, 1)
  kHardSwish,        // x * clamp(x / 6 + 1/2, 0, 1)
  kSigmoid,
  kTanh,
  kErf,
  kExp,
  kLog,
  kSqrt,
  kNeg,
  kAbs,
  kReciprocal,
  kFloor,
  kCeil,
  kRound,  // half to even
  kSign,
  kSoftplus,
  kSoftsign,
  kElu,   // x < 0 ? alpha * (e^x - 1) : x
  kSelu,  // beta * (x <= 0 ? alpha * (e^x - 1) : x)
  kGelu,
  kGeluTanh,
  kMish,  // x * tanh(softplus(x))
  kNot,  // bool (uint8_t) only: unary_f32 does nothing for it
};

// y[i] = f(x[i]) for i < n; x may equal y.
void unary_f32(UnaryOp op, const float* x, float* y, size_t n, float alpha, float beta);

}  // namespace octet::simd
