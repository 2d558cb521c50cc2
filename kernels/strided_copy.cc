#include "kernels/strided_copy.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>

#include "kernels/parallel.h"
#endif

namespace octet::kernels {
namespace {

// Elements of `dims` below which one thread does the whole copy.
constexpr int64_t kParallelElements = int64_t(1) << 15;

int64_t product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= dims[i];
  return n;
}

// Offsets (in elements) of linear index `flat` over dims[0..rank) in src and dst.
inline void unravel(int64_t flat, const StridedCopy& c, size_t rank, int64_t& s, int64_t& d) {
  s = 0;
  d = 0;
  for (size_t k = rank; k-- > 0;) {
    int64_t i = flat % c.dims[k];
    flat /= c.dims[k];
    s += i * c.src_strides[k];
    d += i * c.dst_strides[k];
  }
}

template <typename T>
void rows_strided(const T* src, T* dst, const StridedCopy& c, int threads) {
  const size_t r = c.dims.size();
  const int64_t rows = product(c.dims, 0, r - 1);
  const int64_t n = c.dims[r - 1];
  const int64_t ss = c.src_strides[r - 1], ds = c.dst_strides[r - 1];
  const int nt = rows * n >= kParallelElements ? threads : 1;
  parallel_for(rows, nt, [&](int64_t row, int) {
    int64_t so, dof;
    unravel(row, c, r - 1, so, dof);
    const T* s = src + so;
    T* d = dst + dof;
    for (int64_t i = 0; i < n; ++i) d[i * ds] = s[i * ss];
  });
}

#if defined(__SSE2__)
// 8x8 blocks of 2-byte elements: s rows (stride ss elements) -> d rows (stride ds).
inline void transpose8x8_u16(const uint16_t* s, int64_t ss, uint16_t* d, int64_t ds) {
  __m128i r[8], t[8], u[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i * ss));
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h)  // rows 0-3 (h = 0) and 4-7 (h = 1)
    for (int k = 0; k < 2; ++k) {
      u[4 * h + 2 * k] = _mm_unpacklo_epi32(t[4 * h + k], t[4 * h + 2 + k]);
      u[4 * h + 2 * k + 1] = _mm_unpackhi_epi32(t[4 * h + k], t[4 * h + 2 + k]);
    }
  // u[0..3] hold columns (0,1), (2,3), (4,5), (6,7) of rows 0-3; u[4..7] of rows 4-7.
  for (int c = 0; c < 4; ++c) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (2 * c) * ds), _mm_unpacklo_epi64(u[c], u[4 + c]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (2 * c + 1) * ds), _mm_unpackhi_epi64(u[c], u[4 + c]));
  }
}

// 8x8 blocks of 1-byte elements.
inline void transpose8x8_u8(const uint8_t* s, int64_t ss, uint8_t* d, int64_t ds) {
  __m128i r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + i * ss));
  const __m128i t0 = _mm_unpacklo_epi8(r[0], r[1]), t1 = _mm_unpacklo_epi8(r[2], r[3]);
  const __m128i t2 = _mm_unpacklo_epi8(r[4], r[5]), t3 = _mm_unpacklo_epi8(r[6], r[7]);
  const __m128i u0 = _mm_unpacklo_epi16(t0, t1), u1 = _mm_unpackhi_epi16(t0, t1);
  const __m128i u2 = _mm_unpacklo_epi16(t2, t3), u3 = _mm_unpackhi_epi16(t2, t3);
  const __m128i v[4] = {_mm_unpacklo_epi32(u0, u2), _mm_unpackhi_epi32(u0, u2),
                        _mm_unpacklo_epi32(u1, u3), _mm_unpackhi_epi32(u1, u3)};
  for (int c = 0; c < 4; ++c) {  // v[c] holds columns 2c (low half) and 2c+1 (high half)
    _mm_storel_epi64(reinterpret_cast<__m128i*>(d + (2 * c) * ds), v[c]);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(d + (2 * c + 1) * ds), _mm_unpackhi_epi64(v[c], v[c]));
  }
}
#endif

// One tile: dst[jj * dj + ll] = src[jj + ll * sl] for jj in [j0, j1), ll in [l0, l1).
template <typename T>
inline void transpose_tile(const T* src, T* dst, int64_t j0, int64_t j1, int64_t l0, int64_t l1,
                           int64_t sl, int64_t dj) {
  int64_t jj = j0;
#if defined(__SSE2__)
  // Square blocks transposed in SSE registers (SSE2 is part of every x86-64 CPU): 4x4 for
  // 4-byte elements, 8x8 for 2- and 1-byte ones.
  if constexpr (sizeof(T) <= 4) {
    constexpr int64_t B = sizeof(T) == 4 ? 4 : 8;
    for (; jj + B <= j1; jj += B) {
      int64_t ll = l0;
      for (; ll + B <= l1; ll += B) {
        const T* s = src + jj + ll * sl;
        T* d = dst + jj * dj + ll;
        if constexpr (sizeof(T) == 4) {
          const float* sf = reinterpret_cast<const float*>(s);
          __m128 r0 = _mm_loadu_ps(sf), r1 = _mm_loadu_ps(sf + sl), r2 = _mm_loadu_ps(sf + 2 * sl),
                 r3 = _mm_loadu_ps(sf + 3 * sl);
          _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
          float* df = reinterpret_cast<float*>(d);
          _mm_storeu_ps(df, r0);
          _mm_storeu_ps(df + dj, r1);
          _mm_storeu_ps(df + 2 * dj, r2);
          _mm_storeu_ps(df + 3 * dj, r3);
        } else if constexpr (sizeof(T) == 2) {
          transpose8x8_u16(reinterpret_cast<const uint16_t*>(s), sl, reinterpret_cast<uint16_t*>(d), dj);
        } else {
          transpose8x8_u8(reinterpret_cast<const uint8_t*>(s), sl, reinterpret_cast<uint8_t*>(d), dj);
        }
      }
      for (int64_t k = 0; k < B; ++k)
        for (int64_t l = ll; l < l1; ++l) dst[(jj + k) * dj + l] = src[jj + k + l * sl];
    }
  }
#endif
  for (; jj < j1; ++jj) {
    const T* s = src + jj;
    T* d = dst + jj * dj;
    for (int64_t ll = l0; ll < l1; ++ll) d[ll] = s[ll * sl];
  }
}

// dst innermost dim `last` has stride 1 in dst; dim `j` has stride 1 in src.
template <typename T>
void tiled_transpose(const T* src, T* dst, const StridedCopy& c, size_t j, int threads) {
  // Tiles of kTileJ x kTileL elements: kTileJ along the dim contiguous in src (long
  // contiguous reads the prefetcher follows), kTileL along the dim contiguous in dst.
  // 256 x 64 bytes measured best among 64..1024 on the development machine.
  constexpr int64_t kTileJ = 256 / sizeof(T) < 16 ? 16 : 256 / sizeof(T);
  constexpr int64_t kTileL = 64 / sizeof(T) < 16 ? 16 : 64 / sizeof(T);
  const size_t r = c.dims.size(), last = r - 1;
  // Outer dims: all except j and last.
  StridedCopy outer;
  for (size_t k = 0; k < last; ++k)
    if (k != j) {
      outer.dims.push_back(c.dims[k]);
      outer.src_strides.push_back(c.src_strides[k]);
      outer.dst_strides.push_back(c.dst_strides[k]);
    }
  const int64_t n_outer = product(outer.dims, 0, outer.dims.size());
  const int64_t nj = c.dims[j], nl = c.dims[last];
  const int64_t sl = c.src_strides[last], dj = c.dst_strides[j];
  const int64_t tiles_j = (nj + kTileJ - 1) / kTileJ;
  const int64_t work = n_outer * tiles_j;
  const int nt = n_outer * nj * nl >= kParallelElements ? threads : 1;
  parallel_for(work, nt, [&](int64_t w, int) {
    const int64_t o = w / tiles_j, tj = w % tiles_j;
    int64_t so, dof;
    unravel(o, outer, outer.dims.size(), so, dof);
    const int64_t j0 = tj * kTileJ, j1 = std::min(nj, j0 + kTileJ);
    for (int64_t l0 = 0; l0 < nl; l0 += kTileL) {
      const int64_t l1 = std::min(nl, l0 + kTileL);
      transpose_tile(src + so, dst + dof, j0, j1, l0, l1, sl, dj);
    }
  });
}

template <typename T>
void copy_typed(const T* src, T* dst, const StridedCopy& c, int threads) {
  const size_t last = c.dims.size() - 1;
  if (c.dst_strides[last] == 1) {
    for (size_t j = 0; j < last; ++j)
      if (c.src_strides[j] == 1 && c.dims[last] > 1 && c.dims[j] > 1) {
        tiled_transpose(src, dst, c, j, threads);
        return;
      }
  }
  rows_strided(src, dst, c, threads);
}

struct Bytes16 {
  unsigned char b[16];
};

}  // namespace

std::vector<int64_t> dense_strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size());
  int64_t acc = 1;
  for (size_t k = dims.size(); k-- > 0;) {
    s[k] = acc;
    acc *= dims[k];
  }
  return s;
}

StridedCopy coalesce(const StridedCopy& c) {
  StridedCopy out;
  for (size_t k = 0; k < c.dims.size(); ++k) {
    if (c.dims[k] == 1) continue;
    if (!out.dims.empty()) {
      size_t b = out.dims.size() - 1;
      if (out.src_strides[b] == c.src_strides[k] * c.dims[k] &&
          out.dst_strides[b] == c.dst_strides[k] * c.dims[k]) {
        out.dims[b] *= c.dims[k];
        out.src_strides[b] = c.src_strides[k];
        out.dst_strides[b] = c.dst_strides[k];
        continue;
      }
    }
    out.dims.push_back(c.dims[k]);
    out.src_strides.push_back(c.src_strides[k]);
    out.dst_strides.push_back(c.dst_strides[k]);
  }
  return out;
}

void strided_copy_reference(const void* src, void* dst, size_t elem_size, const StridedCopy& c) {
  const int64_t total = product(c.dims, 0, c.dims.size());
  const auto* s = static_cast<const unsigned char*>(src);
  auto* d = static_cast<unsigned char*>(dst);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t so, dof;
    unravel(flat, c, c.dims.size(), so, dof);
    std::memcpy(d + dof * static_cast<int64_t>(elem_size), s + so * static_cast<int64_t>(elem_size),
                elem_size);
  }
}

void strided_copy(const void* src, void* dst, size_t elem_size, const StridedCopy& in,
                  int threads) {
  for (int64_t d : in.dims)
    if (d == 0) return;
  StridedCopy c = coalesce(in);
  const auto* s = static_cast<const unsigned char*>(src);
  auto* d = static_cast<unsigned char*>(dst);
  if (c.dims.empty()) {  // a single element
    std::memcpy(d, s, elem_size);
    return;
  }
  const size_t last = c.dims.size() - 1;
  if (c.src_strides[last] == 1 && c.dst_strides[last] == 1) {
    // Rows contiguous in both: memcpy each.
    const int64_t rows = product(c.dims, 0, last);
    const size_t row_bytes = static_cast<size_t>(c.dims[last]) * elem_size;
    const int64_t es = static_cast<int64_t>(elem_size);
    const int nt = rows * c.dims[last] >= kParallelElements && rows > 1 ? threads : 1;
    if (rows == 1) {
      std::memcpy(d, s, row_bytes);
      return;
    }
    parallel_for(rows, nt, [&](int64_t row, int) {
      int64_t so, dof;
      unravel(row, c, last, so, dof);
      std::memcpy(d + dof * es, s + so * es, row_bytes);
    });
    return;
  }
  switch (elem_size) {
    case 1: copy_typed(reinterpret_cast<const uint8_t*>(s), reinterpret_cast<uint8_t*>(d), c, threads); return;
    case 2: copy_typed(reinterpret_cast<const uint16_t*>(s), reinterpret_cast<uint16_t*>(d), c, threads); return;
    case 4: copy_typed(reinterpret_cast<const uint32_t*>(s), reinterpret_cast<uint32_t*>(d), c, threads); return;
    case 8: copy_typed(reinterpret_cast<const uint64_t*>(s), reinterpret_cast<uint64_t*>(d), c, threads); return;
    case 16: copy_typed(reinterpret_cast<const Bytes16*>(s), reinterpret_cast<Bytes16*>(d), c, threads); return;
    default: strided_copy_reference(src, dst, elem_size, c); return;
  }
}

}  // namespace octet::kernels
