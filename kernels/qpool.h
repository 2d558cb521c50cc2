// octet.QAveragePool: 8-bit average pooling (NCHW 1..3 spatial dims, or 2-D NHWC).
// Per output: acc = sum over the window's taps inside the input of (x - zx), an exact int32;
// count = the ONNX divisor (taps inside the input, or with count_include_pad the taps inside
// the padded input); y = requantize(acc) with the multiplier x_scale / (count * y_scale):
//   fp32:        roundeven(clamp(float(acc) * m, qmin - zy, qmax - zy)) + zy,
//                m = float(double(sx) / (double(count) * double(sy)))
//   fixed point: clamp(scale_accumulator(scheme, acc, M) + zy, qmin, qmax), M from that double
// (kernels::make_multiplier_from_real / requantize_one). A window with count 0 gives zy.
#pragma once
#include <cstdint>
#include <vector>

#include "base/dtype.h"
#include "kernels/pool.h"
#include "kernels/requant.h"

namespace octet::kernels {

struct QAvgPoolParams {
  PoolParams geo;  // geometry (kind ignored)
  bool nhwc = false;
  DType x_type = DType::kU8, y_type = DType::kU8;
  RequantScheme scheme = RequantScheme::kFp32;
  int32_t zx = 0, zy = 0, qmin = 0, qmax = 255;
  // Per output spatial position (row-major over geo.out): the divisor and its multiplier.
  std::vector<int32_t> counts;
  std::vector<ChannelMultiplier> mult;
};

// Largest window (taps) accepted: the int32 sum of (x - zx) cannot overflow below it.
constexpr int64_t kQPoolMaxTaps = int64_t(1) << 23;

// Fills p.counts and p.mult from p.geo (throws when a multiplier is out of range).
void set_qavgpool_scales(QAvgPoolParams& p, float sx, float sy);

void qavgpool_reference(const QAvgPoolParams& p, const void* x, void* y);
void qavgpool(const QAvgPoolParams& p, const void* x, void* y, int threads);

}  // namespace octet::kernels
