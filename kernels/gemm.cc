#include "kernels/gemm.h"

#include <algorithm>

#include "kernels/parallel.h"
#include "simd/gemm_f32.h"

namespace octet::kernels {

using simd::kGemmNR;

void PackedB::pack(const float* B, size_t k, size_t n, ptrdiff_t stride_k, ptrdiff_t stride_n,
                   float scale) {
  K = k;
  N = n;
  data.assign(simd::gemm_packed_b_floats(K, N), 0.f);
  simd::gemm_pack_b(B, K, N, stride_k, stride_n, data.data());
  if (scale != 1.f)
    for (float& v : data) v *= scale;
}

std::vector<float> pad_bias(const float* bias, size_t N) {
  std::vector<float> b((N + kGemmNR - 1) / kGemmNR * kGemmNR, 0.f);
  if (bias) std::copy(bias, bias + N, b.begin());
  return b;
}

size_t panel_chunks(size_t row_chunks, size_t panels, int threads) {
  if (threads <= 1 || panels <= 1) return 1;
  size_t want = 2 * static_cast<size_t>(threads);
  if (row_chunks >= want) return 1;
  return std::min(panels, (want + row_chunks - 1) / row_chunks);
}

void gemm_packed(size_t M, const float* A, size_t lda, const PackedB& B, float* C, size_t ldc,
                 const float* bias, float lo, float hi, int threads) {
  const size_t N = B.N, K = B.K;
  if (M == 0 || N == 0) return;
  const size_t panels = (N + kGemmNR - 1) / kGemmNR;
  // About 4 work items per thread, of equal size: rows split evenly (multiples of 8 rows),
  // and column panels split too when there are few rows.
  size_t row_chunks = 1, pchunks = 1;
  const bool few_rows = M <= 256;
  if (threads > 1) {
    // Few rows: fewer, larger items (each re-reads its part of B).
    const size_t target = (few_rows ? 2 : 4) * static_cast<size_t>(threads);
    row_chunks = std::min((M + 7) / 8, target);
    pchunks = std::min(panels, (target + row_chunks - 1) / row_chunks);
  }
  size_t rows_per = (M + row_chunks - 1) / row_chunks;
  if (!few_rows) rows_per = (rows_per + 7) / 8 * 8;
  row_chunks = (M + rows_per - 1) / rows_per;
  const size_t panels_per = (panels + pchunks - 1) / pchunks;
  const long items = static_cast<long>(row_chunks * pchunks);
  parallel_for(items, (threads > 1 && items > 1) ? threads : 1, [&](int64_t it, int) {
    // Panel chunk is the slow index: a static split gives each thread whole column ranges.
    const size_t pc = static_cast<size_t>(it) / row_chunks, rc = static_cast<size_t>(it) % row_chunks;
    const size_t m0 = rc * rows_per, m1 = std::min(M, m0 + rows_per);
    const size_t p0 = pc * panels_per, p1 = std::min(panels, p0 + panels_per);
    if (m0 >= m1 || p0 >= p1) return;
    const size_t n0 = p0 * kGemmNR, n1 = std::min(N, p1 * kGemmNR);
    simd::GemmEpilogue ep;
    ep.bias = bias ? bias + n0 : nullptr;
    ep.lo = lo;
    ep.hi = hi;
    simd::gemm_f32(m1 - m0, n1 - n0, K, A + m0 * lda, lda, B.data.data() + p0 * K * kGemmNR,
                   C + m0 * ldc + n0, ldc, ep);
  });
}

void gemm_reference(size_t M, size_t N, size_t K, const float* A, ptrdiff_t a_m, ptrdiff_t a_k,
                    const float* B, ptrdiff_t b_k, ptrdiff_t b_n, float* C, size_t ldc) {
  for (size_t m = 0; m < M; ++m)
    for (size_t n = 0; n < N; ++n) {
      float s = 0.f;
      for (size_t k = 0; k < K; ++k)
        s += A[static_cast<ptrdiff_t>(m) * a_m + static_cast<ptrdiff_t>(k) * a_k] *
             B[static_cast<ptrdiff_t>(k) * b_k + static_cast<ptrdiff_t>(n) * b_n];
      C[m * ldc + n] = s;
    }
}

}  // namespace octet::kernels
