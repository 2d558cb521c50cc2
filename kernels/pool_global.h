// GlobalAveragePool / GlobalMaxPool: one value per (n, c) over all spatial positions.
#pragma once
#include <cstdint>

#include "kernels/pool.h"

namespace octet::kernels {

// x is (N, C, S) when !channels_last, (N, S, C) otherwise; y is (N, C).
void global_pool_reference(PoolKind kind, int64_t n, int64_t c, int64_t s, bool channels_last,
                           const float* x, float* y);
void global_pool_f32(PoolKind kind, int64_t n, int64_t c, int64_t s, bool channels_last,
                     const float* x, float* y, int threads);

// GlobalMaxPool over 8-bit codes (T = uint8_t or int8_t), same layouts; s == 0 gives T's
// lowest value. The optimized version splits (n, c) over OpenMP threads.
template <typename T>
void global_max_reference(int64_t n, int64_t c, int64_t s, bool channels_last, const T* x, T* y);
template <typename T>
void global_max_int(int64_t n, int64_t c, int64_t s, bool channels_last, const T* x, T* y,
                    int threads);

}  // namespace octet::kernels
