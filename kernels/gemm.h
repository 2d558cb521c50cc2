// Matrix products shared by Conv, ConvTranspose, Gemm and MatMul: a packed-B matrix and a
// multi-threaded driver over the simd/ GEMM microkernel, plus a plain reference.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace octet::kernels {

// A K x N right-hand matrix packed for simd::gemm_f32 (column panels, zero padded).
struct PackedB {
  size_t K = 0, N = 0;
  std::vector<float> data;
  // Element (k, n) = B[k * stride_k + n * stride_n], times `scale`.
  void pack(const float* B, size_t K, size_t N, ptrdiff_t stride_k, ptrdiff_t stride_n,
            float scale = 1.f);
};

// Bias padded to the panel width (the microkernel's epilogue reads whole panels).
std::vector<float> pad_bias(const float* bias, size_t N);

// C[M x N] (ldc) = A[M x K] (lda) * B (+ bias[n]) clamped to [lo, hi]; `bias` null or padded
// by pad_bias. Splits rows and column panels over `threads` OpenMP threads.
void gemm_packed(size_t M, const float* A, size_t lda, const PackedB& B, float* C, size_t ldc,
                 const float* bias, float lo, float hi, int threads);

// Plain reference: C[m, n] = sum_k A(m, k) * B(k, n) with explicit element strides.
void gemm_reference(size_t M, size_t N, size_t K, const float* A, ptrdiff_t a_m, ptrdiff_t a_k,
                    const float* B, ptrdiff_t b_k, ptrdiff_t b_n, float* C, size_t ldc);

// Work split helper: number of column-panel chunks so that row_chunks * chunks >= ~2*threads.
size_t panel_chunks(size_t row_chunks, size_t panels, int threads);

}  // namespace octet::kernels
