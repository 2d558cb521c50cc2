// `exact` mode's integer convolutions and matrix products: the bits of the integer kernels,
// computed by a second, independent route — the float kernels on integer-valued data.
//
// v = code - zero point times integer weights, summed in fp32, is exact while every partial
// sum stays below 2^24: the bound max_n sum_k |w[n][k]| * max|v| decides. With 16-bit codes,
// where that bound is passed but 256 * max_n sum_k |w[n][k]| is not, v = 256 * h + l
// (l = v & 255, h = v >> 8) and the float kernels run on h and on l (each sum exact), the sum
// being 256 * sum_h + sum_l in int64. Otherwise the integer reference loops. The sums are then
// requantized as the integer kernels do: int32 sums with a wrapping bias and requantize_one
// (QConvQuant / QGemmEpilogue), or int64 sums and requantize_one64 (QConv16Quant /
// QGemm16Epilogue).
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

#include "kernels/conv.h"
#include "kernels/qconv.h"
#include "kernels/qgemm.h"
#include "kernels/qgemm16.h"

namespace octet::kernels {

// The float bound: below it every fp32 partial sum of integers is exact.
inline constexpr double kExactFloatLimit = 16777216.0;  // 2^24

class QConvExact {
 public:
  // 8-bit codes, int32 sums (the arithmetic of QConv2dNhwc). w: ONNX layout; bias: M or null.
  QConvExact(const ConvParams& p, const QConvQuant& q, const int8_t* w, const int32_t* bias,
             int threads);
  // 8- or 16-bit codes, int64 sums (the arithmetic of QConv16Nhwc).
  QConvExact(const ConvParams& p, const QConv16Quant& q, const int8_t* w, const int64_t* bias,
             int threads);
  ~QConvExact();
  void run(const void* x, void* y);  // NHWC codes
  // "qconv_exact_f32" / "_int32", "qconv16_exact_f32" / "_f32_split" / "_int64".
  std::string_view impl_name() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class QGemmExact {
 public:
  // C [M][N] = epilogue(sum_k (A[m][k] - zp) * B[n][k]); `a` gives A's code type and zero
  // point (its data pointer is ignored: run() takes A), B is [N][K].
  QGemmExact(int64_t M, int64_t N, int64_t K, const QGemmA& a, const int8_t* b_nk,
             const QGemmEpilogue& ep, int threads);
  QGemmExact(int64_t M, int64_t N, int64_t K, const QGemm16A& a, const int8_t* b_nk,
             const QGemm16Epilogue& ep, int threads);
  ~QGemmExact();
  void run(const void* a, void* c);  // A rows of K codes, C rows of N
  // "qgemm_exact_f32" / "_int32", "qgemm16_exact_f32" / "_f32_split" / "_int64".
  std::string_view impl_name() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace octet::kernels
