#include "engine/constant_encoding.h"

#include <algorithm>
#include <cmath>

#include "base/dims.h"
#include "simd/round_half_even.h"

namespace octet {

std::optional<QuantParams> own_range_encoding(const TensorInfo& t) {
  if (!t.is_constant() || t.dtype != DType::kF32 || !t.quant.empty() || !t.shape.is_concrete())
    return std::nullopt;
  const int64_t n = checked_numel(t.shape.concrete());
  const auto* v = reinterpret_cast<const float*>(t.data->data());
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return std::nullopt;
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  if (hi - lo < 0.01f) hi = lo + 0.01f;
  QuantParams q;
  const float scale = (hi - lo) / 255.f;
  q.scale = {scale};
  q.zero_point = {int32_t(std::clamp(simd::round_half_even(-lo / scale), 0.f, 255.f))};
  q.bitwidth = 8;
  return q;
}

int32_t int32_bias_code(float bias, float scale) {
  return int32_t(std::clamp(double(simd::round_half_even(bias / scale)), -2147483648.0, 2147483647.0));
}

}  // namespace octet
