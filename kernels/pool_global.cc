#include "kernels/pool_global.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/parallel.h"
#include "simd/reduce.h"

namespace octet::kernels {

void global_pool_reference(PoolKind kind, int64_t n, int64_t c, int64_t s, bool channels_last,
                           const float* x, float* y) {
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0;
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < s; ++i) {
        float v = channels_last ? x[(b * s + i) * c + ch] : x[(b * c + ch) * s + i];
        sum += v;
        best = std::max(best, v);
      }
      y[b * c + ch] = kind == PoolKind::kMax ? best : static_cast<float>(sum / static_cast<double>(s));
    }
}

void global_pool_f32(PoolKind kind, int64_t n, int64_t c, int64_t s, bool channels_last,
                     const float* x, float* y, int threads) {
  const bool is_max = kind == PoolKind::kMax;
  const float inv = s > 0 ? 1.f / static_cast<float>(s) : 0.f;
  if (!channels_last) {
    parallel_for(n * c, threads, [&](int64_t pl, int) {
      const float* p = x + pl * s;
      y[pl] = is_max ? simd::reduce_max(p, static_cast<size_t>(s))
                     : simd::reduce_sum(p, static_cast<size_t>(s)) * inv;
    });
    return;
  }
  // Channels-last: accumulate rows of C; split channels in blocks for parallelism.
  const int64_t block = 256;
  const int64_t blocks = (c + block - 1) / block;
  parallel_for(n * blocks, threads, [&](int64_t t, int) {
    const int64_t b = t / blocks, c0 = (t % blocks) * block, len = std::min(block, c - c0);
    float* out = y + b * c + c0;
    const float* base = x + b * s * c + c0;
    if (s == 0) {
      std::fill(out, out + len, is_max ? -std::numeric_limits<float>::infinity() : 0.f);
      return;
    }
    std::memcpy(out, base, static_cast<size_t>(len) * sizeof(float));
    for (int64_t i = 1; i < s; ++i) {
      if (is_max) simd::max_into(out, base + i * c, static_cast<size_t>(len));
      else simd::add_into(out, base + i * c, static_cast<size_t>(len));
    }
    if (!is_max) simd::scale(out, out, static_cast<size_t>(len), inv);
  });
}

template <typename T>
void global_max_reference(int64_t n, int64_t c, int64_t s, bool channels_last, const T* x, T* y) {
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      T best = std::numeric_limits<T>::lowest();
      for (int64_t i = 0; i < s; ++i) {
        const T v = channels_last ? x[(b * s + i) * c + ch] : x[(b * c + ch) * s + i];
        best = v > best ? v : best;
      }
      y[b * c + ch] = best;
    }
}

template <typename T>
void global_max_int(int64_t n, int64_t c, int64_t s, bool channels_last, const T* x, T* y,
                    int threads) {
  if (!channels_last) {
    parallel_for(n * c, threads, [&](int64_t pl, int) {
      const T* p = x + pl * s;
      T best = std::numeric_limits<T>::lowest();
      for (int64_t i = 0; i < s; ++i) best = p[i] > best ? p[i] : best;
      y[pl] = best;
    });
    return;
  }
  const int64_t block = 256;
  const int64_t blocks = (c + block - 1) / block;
  parallel_for(n * blocks, threads, [&](int64_t t, int) {
    const int64_t b = t / blocks, c0 = (t % blocks) * block, len = std::min(block, c - c0);
    T* out = y + b * c + c0;
    std::fill(out, out + len, std::numeric_limits<T>::lowest());
    for (int64_t i = 0; i < s; ++i) {
      const T* row = x + (b * s + i) * c + c0;
      for (int64_t k = 0; k < len; ++k) out[k] = row[k] > out[k] ? row[k] : out[k];
    }
  });
}

template void global_max_reference<uint8_t>(int64_t, int64_t, int64_t, bool, const uint8_t*, uint8_t*);
template void global_max_reference<int8_t>(int64_t, int64_t, int64_t, bool, const int8_t*, int8_t*);
template void global_max_int<uint8_t>(int64_t, int64_t, int64_t, bool, const uint8_t*, uint8_t*, int);
template void global_max_int<int8_t>(int64_t, int64_t, int64_t, bool, const int8_t*, int8_t*, int);

}  // namespace octet::kernels
