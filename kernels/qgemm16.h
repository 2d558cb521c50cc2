// W8A16 integer GEMM and convolution: 16-bit activation codes (u16 or s16; u8 / s8 accepted
// too) times symmetric weights of at most 8 bits (s8, zero point 0), summed exactly in int64
// (TFLite 16x8's accumulator), plus an int64 bias, then requantize_one64 (kernels/requant.h) to
// u8 / s8 / u16 / s16 codes.
//
// Optimized path: codes become s16 (u16 - 32768; the zero point folds into a per-column
// int64 term (32768 - zp) * colsum + bias), products by vpmaddwd / vpdpwssd (s16 x s16, exact)
// summed in int32 over chunks of 256 k (|partial| <= 2^30, never overflows) and the chunks in
// int64. Paths by QIsa (qgemm_best_isa): AVX-512 VNNI (also for AMX CPUs), AVX2, scalar. Every
// path gives qgemm16_reference's bits.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/dtype.h"
#include "kernels/conv.h"
#include "kernels/qgemm.h"
#include "kernels/requant.h"

namespace octet::kernels {

// Activation code types the wide kernels read: kU8, kI8, kU16, kI16.
bool is_wide_input_type(DType t);
// Output code types of the wide epilogue: kU8, kI8, kU16, kI16.
bool is_wide_output_type(DType t);
// What the optimized path subtracts from a code to make it s16 (32768 for kU16, else 0).
inline int32_t code16_shift(DType t) { return t == DType::kU16 ? 32768 : 0; }

struct QGemm16A {
  const void* data = nullptr;  // M rows of K codes of `type`, row stride lda elements
  int64_t lda = 0;
  DType type = DType::kU16;
  int32_t zero_point = 0;
};

struct QGemm16Epilogue {
  const int64_t* bias = nullptr;         // N values or null
  const Requantizer* requant = nullptr;  // null: C holds the int64 sums (+ bias), kI64
  DType out_type = DType::kU16;
};

// The definition: plain loops over B [N][K] (s8), int64 sums.
void qgemm16_reference(int64_t M, int64_t N, int64_t K, const QGemm16A& a, const int8_t* b_nk,
                       const QGemm16Epilogue& ep, void* c, int64_t ldc);

// B [N][K] packed for one path: column panels of k-pairs of int16, and the column sums.
class QGemm16PackedB {
 public:
  QGemm16PackedB(const int8_t* b_nk, int64_t N, int64_t K, QIsa isa);
  ~QGemm16PackedB();
  QGemm16PackedB(QGemm16PackedB&&) noexcept;
  QGemm16PackedB& operator=(QGemm16PackedB&&) noexcept;
  int64_t N() const;
  int64_t K() const;
  QIsa isa() const;  // the path that runs (kAmx runs the AVX-512 VNNI kernel)
  int64_t panel_width() const;
  std::string_view impl_name() const;  // "qgemm16_avx512_vnni", "qgemm16_avx2", "qgemm16_scalar"
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Rows [0, M), columns [n0, n1) (n0 a multiple of panel_width). Single-threaded.
void qgemm16(int64_t M, const QGemm16A& a, const QGemm16PackedB& b, int64_t n0, int64_t n1,
             const QGemm16Epilogue& ep, void* c, int64_t ldc);
// All of C (M x N) on `threads` threads, rows and panels divided by split_gemm.
void qgemm16_parallel(int64_t M, const QGemm16A& a, const QGemm16PackedB& b,
                      const QGemm16Epilogue& ep, void* c, int64_t ldc, int threads);
// The same with A already as s16 values v = code - shift: rows of at least K rounded up to 2
// readable int16 (zeros past K), row stride lda; `offset` = shift - zero_point.
void qgemm16_s16(int64_t M, const int16_t* a, int64_t lda, int32_t offset, const QGemm16PackedB& b,
                 int64_t n0, int64_t n1, const QGemm16Epilogue& ep, void* c, int64_t ldc);

// ---- convolution: NHWC codes, ONNX weights [M][C/group][KH][KW] (s8), int64 bias -------------
struct QConv16Quant {
  DType x_type = DType::kU16;  // kU8, kI8, kU16, kI16
  int32_t x_zero_point = 0;    // padding reads it (the code of real 0)
  Requantizer requant;
  DType out_type = DType::kU16;
};

void qconv16_reference(const ConvParams& p, const QConv16Quant& q, const void* x, const int8_t* w,
                       const int64_t* bias, void* y);

// im2col to s16 (per group) + qgemm16. Threads split the output pixels.
class QConv16Nhwc {
 public:
  QConv16Nhwc(const ConvParams& p, const QConv16Quant& q, const int8_t* w, const int64_t* bias,
              int threads, QIsa isa);
  ~QConv16Nhwc();
  void run(const void* x, void* y);
  std::string_view impl_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace octet::kernels
