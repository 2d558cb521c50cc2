// MaxPool / AveragePool over 1..3 spatial dims (NCHW) and 2D channels-last (NHWC).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace octet::kernels {

enum class PoolKind { kMax, kAvg };

// Geometry resolved by the op binding (auto_pad, ceil_mode already applied).
struct PoolParams {
  PoolKind kind = PoolKind::kMax;
  int64_t batch = 1, channels = 1;
  std::vector<int64_t> in, out;  // spatial dims, same rank as kernel
  std::vector<int64_t> kernel, strides, dilations, pads_begin, pads_end;
  bool count_include_pad = false;  // AveragePool divisor counts padding (not past pads_end)
};

// Number of kernel taps of output position `o` along `dim` that fall inside the input
// (include_pad: inside the padded input [-pads_begin, in + pads_end)).
int64_t pool_taps(const PoolParams& p, size_t dim, int64_t o, bool include_pad);

// Plain N-D reference, NCHW. `indices` (may be null, MaxPool only) receives the flat
// index of each maximum into the whole input, row-major (storage_order 0) or with the
// two spatial dims of a 2D pool column-major (storage_order 1).
template <typename T>
void pool_reference_nchw(const PoolParams& p, const T* x, T* y, int64_t* indices,
                         int storage_order);
// Optimized f32 NCHW: OpenMP over planes, SIMD rows for stride-1 windows.
void pool_nchw_f32(const PoolParams& p, const float* x, float* y, int threads);

// 2D channels-last (N,H,W,C): plain reference and SIMD-over-C version.
template <typename T>
void pool_reference_nhwc(const PoolParams& p, const T* x, T* y);
void pool_nhwc_f32(const PoolParams& p, const float* x, float* y, int threads);

// MaxPool over 8-bit codes (T = uint8_t or int8_t), NCHW (any rank) or 2D NHWC: OpenMP over
// planes / output pixels; the same results as the reference (padding never wins: only taps
// inside the input are compared; a window with none gives T's lowest value).
template <typename T>
void pool_max_int(const PoolParams& p, bool nhwc, const T* x, T* y, int threads);

}  // namespace octet::kernels
