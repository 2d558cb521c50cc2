// octet.QGlobalAveragePool: one value per (n, c) over all S spatial positions.
// acc = sum of (x - zx) over the S positions (exact int32; S <= 2^23), then the requantization
// of kernels/qpool.h with count = S: multiplier x_scale / (S * y_scale) (in double, rounded to
// float once); OpArithmetic::kMlas: x_scale / (y_scale * float(S)) in float, as ONNX Runtime's
// QLinearGlobalAveragePool computes it, with the fp32 requantization whatever `scheme` says.
#pragma once
#include <cstdint>

#include "base/dtype.h"
#include "kernels/requant.h"

namespace octet::kernels {

struct QGlobalAvgPoolParams {
  int64_t n = 1, c = 1, s = 1;
  bool channels_last = false;  // x is (N, S, C) instead of (N, C, S); y is (N, C) either way
  DType x_type = DType::kU8, y_type = DType::kU8;
  RequantScheme scheme = RequantScheme::kFp32;
  OpArithmetic arith = OpArithmetic::kRequantization;
  int32_t zx = 0, zy = 0, qmin = 0, qmax = 255;
  ChannelMultiplier mult;
};

void set_qglobalavgpool_scales(QGlobalAvgPoolParams& p, float sx, float sy);

void qglobalavgpool_reference(const QGlobalAvgPoolParams& p, const void* x, void* y);
void qglobalavgpool(const QGlobalAvgPoolParams& p, const void* x, void* y, int threads);

}  // namespace octet::kernels
