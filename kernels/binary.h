// Broadcasting binary elementwise kernels (Add, Sub, Mul, Div, Pow, Max, Min, Mod, PRelu,
// comparisons, logical ops) and Where. Element types are template parameters; the
// explicit instantiations in binary.cc list the supported combinations.
#pragma once
#include <cstdint>

#include "kernels/broadcast.h"

namespace octet::kernels {

enum class BinaryOp {
  // Arithmetic: TA = TB = TO (Pow also TA != TB, TO = TA).
  kAdd, kSub, kMul, kDiv, kPow, kMax, kMin,
  kMod,      // integer: sign of the divisor (Python %); float: like fmod
  kFmod,     // sign of the dividend (C fmod)
  kPRelu,    // a < 0 ? a * b : a
  // Comparisons: TO = uint8_t (bool, 0 or 1).
  kEqual, kLess, kLessOrEqual, kGreater, kGreaterOrEqual,
  // Logical, on bool (uint8_t) inputs.
  kAnd, kOr, kXor,
};

inline bool binary_is_comparison(BinaryOp op) {
  return op >= BinaryOp::kEqual && op <= BinaryOp::kGreaterOrEqual;
}
inline bool binary_is_logical(BinaryOp op) { return op >= BinaryOp::kAnd; }

// Integer semantics: wrap-around on overflow; Div truncates toward zero; division or
// modulo by zero gives 0 (ONNX leaves it undefined; we must not trap).

// Plain per-element loops over the output, computing input offsets from the multi-index.
template <typename TA, typename TB, typename TO>
void binary_reference(BinaryOp op, const TA* a, const Dims& a_dims, const TB* b,
                      const Dims& b_dims, TO* out, const Dims& out_dims);

// Runs over a BroadcastPlan of the two inputs against the output; Highway for f32
// arithmetic, OpenMP over chunks of the output.
template <typename TA, typename TB, typename TO>
void binary_optimized(BinaryOp op, const TA* a, const TB* b, TO* out, const BroadcastPlan& plan,
                      int threads);

// out = cond ? x : y with broadcasting; T is any element of that size (uint8/16/32/64_t).
template <typename T>
void where_reference(const uint8_t* cond, const Dims& c_dims, const T* x, const Dims& x_dims,
                     const T* y, const Dims& y_dims, T* out, const Dims& out_dims);
template <typename T>
void where_optimized(const uint8_t* cond, const T* x, const T* y, T* out,
                     const BroadcastPlan& plan, int threads);

}  // namespace octet::kernels
