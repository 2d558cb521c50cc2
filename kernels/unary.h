// Pointwise unary kernels: activations and elementwise math. f32 for all ops; integer
// element types for the ops ONNX defines on them (Relu, Neg, Abs, Sign, Clip, Not on bool).
#pragma once
#include <cstdint>

#include "simd/unary.h"

namespace octet::kernels {

using simd::UnaryOp;

// alpha/beta: LeakyRelu alpha; ThresholdedRelu alpha; Clip min/max; HardSigmoid alpha,
// beta; Elu alpha; Selu alpha, gamma (beta).
struct UnaryParams {
  UnaryOp op = UnaryOp::kRelu;
  float alpha = 0.f;
  float beta = 0.f;
};

// The reference function of one f32 value (<cmath>); the integer lowering tabulates it.
float unary_reference_one(const UnaryParams& p, float x);
// Plain loops with <cmath> functions.
void unary_reference_f32(const UnaryParams& p, const float* x, float* y, int64_t n);
// Highway SIMD, OpenMP over chunks for large n.
void unary_optimized_f32(const UnaryParams& p, const float* x, float* y, int64_t n, int threads);

// Integer types (int8..uint64, uint8_t for bool): Relu, Neg (wraps), Abs, Sign, Not.
template <typename T>
void unary_int(UnaryOp op, const T* x, T* y, int64_t n, int threads);
// min(max(x, lo), hi) for any element type.
template <typename T>
void clip(const T* x, T* y, int64_t n, T lo, T hi, int threads);

}  // namespace octet::kernels
