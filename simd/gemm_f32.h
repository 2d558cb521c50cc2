// f32 GEMM microkernels over packed B panels (Highway dynamic dispatch).
//
// C[m, n] (+)= sum_k A[m, k] * B[k, n], then + bias[n] and a clamp to [lo, hi].
// B is packed once into column panels of kGemmNR floats: panel p holds, for k = 0..K-1,
// the kGemmNR values B[k, p*NR .. p*NR+NR-1] (zero padded past N). A is row-major with
// leading dimension lda; C row-major with leading dimension ldc. Single-threaded: callers
// split M (and/or panels) across threads.
#pragma once
#include <cstddef>
#include <cstdint>

namespace octet::simd {

inline constexpr size_t kGemmNR = 32;

// Floats needed for the packed form of a K x N matrix.
inline size_t gemm_packed_b_floats(size_t K, size_t N) {
  return ((N + kGemmNR - 1) / kGemmNR) * kGemmNR * K;
}

// Packs B where element (k, n) is B[k * stride_k + n * stride_n].
void gemm_pack_b(const float* B, size_t K, size_t N, ptrdiff_t stride_k, ptrdiff_t stride_n,
                 float* packed);

struct GemmEpilogue {
  const float* bias = nullptr;  // per column n; must hold ceil(N/NR)*NR floats (zero padded)
  float lo = -__builtin_inff();
  float hi = __builtin_inff();
};

// C = A * B (+ bias, clamp). `packed` may point at panel p (packed + p*K*kGemmNR) with C and
// bias offset by p*kGemmNR columns, to compute a column slice.
void gemm_f32(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* packed,
              float* C, size_t ldc, const GemmEpilogue& ep);

}  // namespace octet::simd
