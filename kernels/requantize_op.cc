#include "kernels/requantize_op.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "kernels/parallel.h"
#include "kernels/qcodes.h"

namespace octet::kernels {

void set_requantize_scales(RequantizeParams& p, float sx, float sy) {
  OCTET_CHECK(std::isfinite(sx) && sx > 0.f && std::isfinite(sy) && sy > 0.f,
              "scales must be finite and positive, got ", sx, ", ", sy);
  if (p.scheme == RequantScheme::kFp32) p.m = make_multiplier_from_real(p.scheme, double(sx / sy));
  else p.m = make_multiplier_from_real(p.scheme, double(sx) / double(sy));
  p.fp32.za = float(p.zx);
  p.fp32.ma = p.m.multiplier;
  p.fp32.zy = float(p.zy);
  p.fp32.lo = float(p.qmin - p.zy);
  p.fp32.hi = float(p.qmax - p.zy);
}

void requantize_reference(const RequantizeParams& p, const void* x, void* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) store_code(y, p.y_type, i, requantize_code(p, load_code(x, p.x_type, i)));
}

void requantize(const RequantizeParams& p, const void* x, void* y, int64_t n, int threads) {
  constexpr int64_t kBlock = 16384;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const auto* xb = static_cast<const uint8_t*>(x);
  auto* yb = static_cast<uint8_t*>(y);
  // Fixed point: the 256 possible results, computed once with requantize_code, then looked up
  // (the byte ^ 0x80 of an i8 code is its index from -128).
  uint8_t table[256];
  const uint8_t flip = p.x_type == DType::kI8 ? 0x80 : 0;
  if (p.scheme != RequantScheme::kFp32)
    for (int32_t i = 0; i < 256; ++i)
      store_code(table, p.y_type, i, requantize_code(p, i + code8_min(p.x_type)));
  parallel_for(blocks, (blocks > 1) ? threads : 1, [&](int64_t blk, int) {
    const int64_t b = blk * kBlock, len = std::min(kBlock, n - b);
    if (p.scheme == RequantScheme::kFp32) {
      simd::q_requant_fp32(xb + b, qcode_of(p.x_type), yb + b, qcode_of(p.y_type), size_t(len), p.fp32);
    } else {
      for (int64_t i = b; i < b + len; ++i) yb[i] = table[xb[i] ^ flip];
    }
  });
}

}  // namespace octet::kernels
