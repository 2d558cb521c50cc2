#include "kernels/qpool_global.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.h"
#include "kernels/parallel.h"
#include "kernels/qcodes.h"
#include "kernels/qpool.h"
#include "simd/q_eltwise.h"

namespace octet::kernels {

void set_qglobalavgpool_scales(QGlobalAvgPoolParams& p, float sx, float sy) {
  OCTET_CHECK(std::isfinite(sx) && sx > 0.f && std::isfinite(sy) && sy > 0.f,
              "scales must be finite and positive, got ", sx, ", ", sy);
  OCTET_CHECK(p.s <= kQPoolMaxTaps, "global pooling over more than 2^23 positions");
  if (p.s == 0) return;
  if (p.arith == OpArithmetic::kMlas) {
    p.scheme = RequantScheme::kFp32;
    const float m = sx / (sy * float(p.s));  // this file builds without FP contraction
    p.mult = make_multiplier_from_real(p.scheme, double(m));
    p.mult.multiplier = m;
    return;
  }
  p.mult = make_multiplier_from_real(p.scheme, double(sx) / (double(p.s) * double(sy)));
}

static int32_t finish_global(const QGlobalAvgPoolParams& p, int32_t acc) {
  if (p.s == 0) return clamp_code(p.zy, p.qmin, p.qmax);
  return requantize_one(p.scheme, acc, p.mult, p.zy, p.qmin, p.qmax);
}

void qglobalavgpool_reference(const QGlobalAvgPoolParams& p, const void* x, void* y) {
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t ch = 0; ch < p.c; ++ch) {
      int32_t acc = 0;
      for (int64_t i = 0; i < p.s; ++i) {
        const int64_t at = p.channels_last ? (b * p.s + i) * p.c + ch : (b * p.c + ch) * p.s + i;
        acc += load_code(x, p.x_type, at) - p.zx;
      }
      store_code(y, p.y_type, b * p.c + ch, finish_global(p, acc));
    }
}

namespace {

template <typename TX>
void global_typed(const QGlobalAvgPoolParams& p, const TX* x, void* y, int threads) {
  const int32_t off = int32_t(p.s) * p.zx;
  if (!p.channels_last) {
    parallel_for(p.n * p.c, threads, [&](int64_t pl, int) {
      const TX* src = x + pl * p.s;
      int32_t acc = 0;
      for (int64_t i = 0; i < p.s; ++i) acc += src[i];
      store_code(y, p.y_type, pl, finish_global(p, acc - off));
    });
    return;
  }
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (p.c + kBlock - 1) / kBlock;
  parallel_for(p.n * blocks, threads, [&](int64_t t, int) {
    const int64_t b = t / blocks, c0 = (t % blocks) * kBlock, len = std::min(kBlock, p.c - c0);
    int32_t acc[kBlock];
    std::fill(acc, acc + len, 0);
    const TX* base = x + b * p.s * p.c + c0;
    for (int64_t i = 0; i < p.s; ++i) {
      const TX* row = base + i * p.c;
      for (int64_t c = 0; c < len; ++c) acc[c] += row[c];
    }
    for (int64_t c = 0; c < len; ++c) acc[c] -= off;
    auto* out = static_cast<uint8_t*>(y) + b * p.c + c0;
    if (p.s > 0 && p.scheme == RequantScheme::kFp32) {
      simd::q_acc_fp32(acc, out, qcode_of(p.y_type), size_t(len), p.mult.multiplier,
                       float(p.qmin - p.zy), float(p.qmax - p.zy), float(p.zy));
    } else {
      for (int64_t c = 0; c < len; ++c) store_code(out, p.y_type, c, finish_global(p, acc[c]));
    }
  });
}

}  // namespace

void qglobalavgpool(const QGlobalAvgPoolParams& p, const void* x, void* y, int threads) {
  if (p.x_type == DType::kU8) global_typed(p, static_cast<const uint8_t*>(x), y, threads);
  else global_typed(p, static_cast<const int8_t*>(x), y, threads);
}

}  // namespace octet::kernels
