// f32 GEMM over packed B panels: register-blocked MR x kGemmNR microkernel, one per target.
#include "simd/gemm_f32.h"

#include <algorithm>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/gemm_f32.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace octet::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
constexpr size_t kL = hn::MaxLanes(DF());
constexpr size_t kNV = kGemmNR / kL;  // vectors per row of the tile
// Rows per tile: keep accumulators + B vectors within the register file.
// (12 rows on AVX-512 measured slower than 8 on the bench_conv shapes.)
constexpr size_t kMR = kL >= 16 ? 8 : (kL == 8 ? 3 : 1);
constexpr size_t kKC = 256;  // K block: the B sliver (kKC x NR) stays in L1
constexpr size_t kMC = 192;  // M block: the A block (kMC x kKC) stays in L2

// One MR x NR tile over k in [0, kc). `acc`: add to C; `ep`: apply bias/clamp (last K block).
// NV: vectors of the panel actually computed (all, or half when at most NR/2 columns remain).
template <size_t MR, size_t NV>
HWY_INLINE void Tile(size_t kc, const float* HWY_RESTRICT A, size_t lda,
                     const float* HWY_RESTRICT B, float* HWY_RESTRICT C, size_t ldc, size_t ncols,
                     bool acc, const GemmEpilogue* ep) {
  const DF d;
  using V = hn::Vec<DF>;
  V c[MR][NV];
#pragma GCC unroll 16
  for (size_t r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (size_t v = 0; v < NV; ++v) c[r][v] = hn::Zero(d);
  for (size_t k = 0; k < kc; ++k) {
    V b[NV];
#pragma GCC unroll 16
    for (size_t v = 0; v < NV; ++v) b[v] = hn::LoadU(d, B + k * kGemmNR + v * kL);
#pragma GCC unroll 16
    for (size_t r = 0; r < MR; ++r) {
      const V a = hn::Set(d, A[r * lda + k]);
#pragma GCC unroll 16
      for (size_t v = 0; v < NV; ++v) c[r][v] = hn::MulAdd(a, b[v], c[r][v]);
    }
  }
  const V lo = hn::Set(d, ep ? ep->lo : 0.f);
  const V hi = hn::Set(d, ep ? ep->hi : 0.f);
  const bool clamp = ep && (ep->lo != -__builtin_inff() || ep->hi != __builtin_inff());
  const bool full = ncols == NV * kL;
#pragma GCC unroll 16
  for (size_t r = 0; r < MR; ++r) {
    float* crow = C + r * ldc;
    HWY_ALIGN float tmp[kGemmNR];
    if (!full && acc) {
      std::memcpy(tmp, crow, ncols * sizeof(float));
    }
    float* dst = full ? crow : tmp;
#pragma GCC unroll 16
    for (size_t v = 0; v < NV; ++v) {
      V x = c[r][v];
      if (acc) x = hn::Add(x, hn::LoadU(d, dst + v * kL));
      if (ep) {
        if (ep->bias) x = hn::Add(x, hn::LoadU(d, ep->bias + v * kL));
        if (clamp) x = hn::Min(hn::Max(x, lo), hi);
      }
      hn::StoreU(x, d, dst + v * kL);
    }
    if (!full) std::memcpy(crow, tmp, ncols * sizeof(float));
  }
}

template <size_t MR>
HWY_NOINLINE void TileN(size_t kc, const float* A, size_t lda, const float* B, float* C,
                        size_t ldc, size_t ncols, bool acc, const GemmEpilogue* ep) {
  if (kNV % 2 == 0 && ncols * 2 <= kGemmNR)
    Tile<MR, (kNV % 2 == 0 ? kNV / 2 : kNV)>(kc, A, lda, B, C, ldc, ncols, acc, ep);
  else
    Tile<MR, kNV>(kc, A, lda, B, C, ldc, ncols, acc, ep);
}

template <size_t... Is>
HWY_INLINE void TileRows(size_t rows, std::index_sequence<Is...>, size_t kc, const float* A,
                         size_t lda, const float* B, float* C, size_t ldc, size_t ncols,
                         bool acc, const GemmEpilogue* ep) {
  using Fn = void (*)(size_t, const float*, size_t, const float*, float*, size_t, size_t, bool,
                      const GemmEpilogue*);
  static constexpr Fn table[] = {&TileN<Is + 1>...};
  table[rows - 1](kc, A, lda, B, C, ldc, ncols, acc, ep);
}

void GemmF32(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* packed,
             float* C, size_t ldc, const GemmEpilogue& ep) {
  if (M == 0 || N == 0) return;
  const size_t panels = (N + kGemmNR - 1) / kGemmNR;
  if (K == 0) {  // C = bias, clamped
    for (size_t m = 0; m < M; ++m)
      for (size_t n = 0; n < N; ++n)
        C[m * ldc + n] = std::min(std::max(ep.bias ? ep.bias[n] : 0.f, ep.lo), ep.hi);
    return;
  }
  for (size_t k0 = 0; k0 < K; k0 += kKC) {
    const size_t kc = std::min(kKC, K - k0);
    const bool acc = k0 > 0;
    const bool last = k0 + kc == K;
    for (size_t m0 = 0; m0 < M; m0 += kMC) {
      const size_t mc = std::min(kMC, M - m0);
      for (size_t p = 0; p < panels; ++p) {
        const size_t ncols = std::min(kGemmNR, N - p * kGemmNR);
        const float* B = packed + p * K * kGemmNR + k0 * kGemmNR;
        GemmEpilogue pep = ep;
        if (pep.bias) pep.bias += p * kGemmNR;
        const GemmEpilogue* e = last ? &pep : nullptr;
        size_t m = 0;
        for (; m + kMR <= mc; m += kMR)
          TileN<kMR>(kc, A + (m0 + m) * lda + k0, lda, B, C + (m0 + m) * ldc + p * kGemmNR, ldc,
                     ncols, acc, e);
        if (m < mc)
          TileRows(mc - m, std::make_index_sequence<kMR>(), kc, A + (m0 + m) * lda + k0, lda, B,
                   C + (m0 + m) * ldc + p * kGemmNR, ldc, ncols, acc, e);
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace octet::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace octet::simd {

HWY_EXPORT(GemmF32);

void gemm_pack_b(const float* B, size_t K, size_t N, ptrdiff_t stride_k, ptrdiff_t stride_n,
                 float* packed) {
  const size_t panels = (N + kGemmNR - 1) / kGemmNR;
  for (size_t p = 0; p < panels; ++p) {
    float* dst = packed + p * K * kGemmNR;
    const size_t n0 = p * kGemmNR;
    const size_t nc = std::min(kGemmNR, N - n0);
    for (size_t k = 0; k < K; ++k) {
      float* row = dst + k * kGemmNR;
      const float* src = B + static_cast<ptrdiff_t>(k) * stride_k;
      if (stride_n == 1) {
        std::memcpy(row, src + n0, nc * sizeof(float));
      } else {
        for (size_t j = 0; j < nc; ++j)
          row[j] = src[static_cast<ptrdiff_t>(n0 + j) * stride_n];
      }
      for (size_t j = nc; j < kGemmNR; ++j) row[j] = 0.f;
    }
  }
}

void gemm_f32(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* packed,
              float* C, size_t ldc, const GemmEpilogue& ep) {
  HWY_DYNAMIC_DISPATCH(GemmF32)(M, N, K, A, lda, packed, C, ldc, ep);
}

}  // namespace octet::simd
#endif  // HWY_ONCE
