// Weights and biases as integer constants.
#include <algorithm>
#include <cmath>
#include "base/error.h"
#include "engine/constant_encoding.h"
#include "engine/passes/lower/lowerer.h"
#include "simd/round_half_even.h"

namespace octet::lowering {

using simd::round_half_even;

// Symmetric integer weights of a constant with QuantParams, as an [N][K] matrix whose rows
// are the output channels. `channel_axis` is the axis of the output channel in the stored
// tensor (0 for Conv and transposed Gemm, 1 for MatMul / Gemm B [K, N]). nullopt (with the
// reason) when the encoding cannot run on the integer kernels.
std::optional<std::pair<int32_t, int32_t>> Lowerer::weight_code_range(const QuantParams& q,
                                                                     size_t index,
                                                                     int bits) const {
  const int32_t half = int32_t{1} << (bits - 1);
  const int32_t zp = q.zero_point[index];
  if (!q.symmetric || zp != (q.strict ? half - 1 : half)) return std::nullopt;
  const int32_t top = (int32_t{1} << bits) - 1 - (q.strict ? 1 : 0);
  return std::pair{std::max(-zp, prof_.weight_min(bits)), std::min(top - zp, prof_.weight_max(bits))};
}

std::optional<Lowerer::Weights> Lowerer::weights(TensorId id, int channel_axis, std::string* why) {
  const TensorInfo& t = in_.tensor(id);
  const QuantParams& q = t.quant;
  if (!t.is_constant() || t.dtype != DType::kF32) return *why = "weights are not a float constant", std::nullopt;
  if (q.empty()) return *why = "weights are not quantized", std::nullopt;
  // Any width up to 8 runs on the int8 kernels (stored as i4 up to 4 bits, else i8).
  if (q.bitwidth < 2 || q.bitwidth > 8)
    return *why = "weights have " + std::to_string(q.bitwidth) + " bits (integer kernels: 2 to 8)", std::nullopt;
  if (q.block_size != 0) return *why = "per-block weights", std::nullopt;
  if (!q.symmetric) return *why = "weights are asymmetric (integer kernels need symmetric weights)", std::nullopt;
  const Dims dims = t.shape.concrete();
  if (dims.size() < 2) return *why = "weights are not a matrix", std::nullopt;
  const int64_t N = dims[size_t(channel_axis)];
  const int64_t total = checked_numel(dims);
  if (N <= 0) return *why = "empty weights", std::nullopt;
  const int64_t K = total / N;
  if (q.scale.size() != 1 && (q.axis != channel_axis || int64_t(q.scale.size()) != N))
    return *why = "weights are quantized along axis " + std::to_string(q.axis) +
                  ", not the output channels", std::nullopt;
  const auto* v = reinterpret_cast<const float*>(t.data->data());
  Weights w;
  w.bits = q.bitwidth;
  w.codes.resize(size_t(total));
  w.scales.resize(size_t(N));
  int64_t rescaled = 0;
  for (int64_t n = 0; n < N; ++n) {
    const size_t qi = q.scale.size() == 1 ? 0 : size_t(n);
    const auto range = weight_code_range(q, qi, q.bitwidth);
    if (!range) return *why = "weights' zero point is not symmetric", std::nullopt;
    const auto [lo, hi] = *range;
    // Element (n, k) of the [N][K] view: for channel_axis 0 the stored order already is
    // [N][K]; for axis 1 of a [K, N] matrix it is v[k * N + n].
    auto at = [&](int64_t k) { return channel_axis == 0 ? v[n * K + k] : v[k * N + n]; };
    float s = q.scale[qi];
    // The encoding's grid may reach a code the profile's weights exclude (AIMET's symmetric
    // grid has -128; narrow int8 weights stop at -127). Clamping that code shifts the channel's
    // every output; the channel's scale is widened instead so that its extreme codes fit.
    const int32_t grid_lo = -q.zero_point[qi];
    const int32_t grid_hi = (int32_t{1} << q.bitwidth) - 1 - (q.strict ? 1 : 0) - q.zero_point[qi];
    float widen = 1.f;
    for (int64_t k = 0; k < K; ++k) {
      const float c = std::clamp(round_half_even(at(k) / s), float(grid_lo), float(grid_hi));
      if (c < float(lo)) widen = std::max(widen, c / float(lo));
      if (c > float(hi)) widen = std::max(widen, c / float(hi));
    }
    if (widen > 1.f) {
      s *= widen;
      ++rescaled;
    }
    w.scales[size_t(n)] = s;
    for (int64_t k = 0; k < K; ++k) {
      float c = round_half_even(at(k) / s);
      c = std::clamp(c, float(lo), float(hi));
      w.codes[size_t(n * K + k)] = int8_t(c);
    }
  }
  if (rescaled && widened_.insert(t.name).second)
    report_.notes.push_back("'" + t.name + "': " + std::to_string(rescaled) + " of " + std::to_string(N) +
                            " output channels' scales widened to fit the profile's weight codes [" +
                            std::to_string(prof_.weight_min(q.bitwidth)) + ", " +
                            std::to_string(prof_.weight_max(q.bitwidth)) +
                            "] (their encodings use a code outside it; qdq simulates that code)");
  return w;
}

TensorId Lowerer::weight_constant(const std::string& base, const Weights& w, const Dims& dims) {
  QuantParams q;
  q.scale = w.scales;
  q.zero_point.assign(w.scales.size(), 0);
  q.axis = 0;
  q.bitwidth = w.bits;
  q.symmetric = true;
  if (w.bits <= 4) {
    std::vector<uint8_t> packed((w.codes.size() + 1) / 2, 0);
    for (size_t i = 0; i < w.codes.size(); ++i)
      packed[i / 2] |= uint8_t((uint8_t(w.codes[i]) & 0xF) << ((i % 2) * 4));
    return add_constant(base, DType::kI4, dims, packed.data(), packed.size(), std::move(q));
  }
  return add_constant(base, DType::kI8, dims, w.codes.data(), w.codes.size(), std::move(q));
}

// Bias codes: round_half_even(b / (x_scale * w_scale[c])), saturated to int32.
std::optional<TensorId> Lowerer::bias_constant(TensorId id, int64_t N, float x_scale,
                                      const std::vector<float>& w_scales, std::string* why) {
  const TensorInfo& t = in_.tensor(id);
  if (!t.is_constant() || t.dtype != DType::kF32) return *why = "bias is not a float constant", std::nullopt;
  const int64_t n = checked_numel(t.shape.concrete());
  if (n != N && n != 1) return *why = "bias does not have one value per output", std::nullopt;
  const auto* v = reinterpret_cast<const float*>(t.data->data());
  std::vector<int32_t> codes(static_cast<size_t>(N));
  QuantParams q;
  for (int64_t c = 0; c < N; ++c) {
    const float s = x_scale * w_scales[size_t(c)];
    codes[size_t(c)] = int32_bias_code(v[n == 1 ? 0 : c], s);
    q.scale.push_back(s);
    q.zero_point.push_back(0);
  }
  q.axis = 0;
  q.bitwidth = 32;
  q.symmetric = true;
  return add_constant(t.name + "_q", DType::kI32, {N}, codes.data(), codes.size() * 4,
                      std::move(q));
}

// Bias codes for the int64 accumulators: round_half_even(b / (x_scale * w_scale[c])) in
// double, saturated to +-2^62.
std::optional<TensorId> Lowerer::bias_constant64(TensorId id, int64_t N, float x_scale,
                                        const std::vector<float>& w_scales, std::string* why) {
  const TensorInfo& t = in_.tensor(id);
  if (!t.is_constant() || t.dtype != DType::kF32) return *why = "bias is not a float constant", std::nullopt;
  const int64_t n = checked_numel(t.shape.concrete());
  if (n != N && n != 1) return *why = "bias does not have one value per output", std::nullopt;
  const auto* v = reinterpret_cast<const float*>(t.data->data());
  std::vector<int64_t> codes(static_cast<size_t>(N));
  QuantParams q;
  for (int64_t c = 0; c < N; ++c) {
    const float s = x_scale * w_scales[size_t(c)];
    double r = std::nearbyint(double(v[n == 1 ? 0 : c]) / double(s));  // half to even
    if (std::isnan(r)) r = 0;
    codes[size_t(c)] = int64_t(std::clamp(r, -4611686018427387904.0, 4611686018427387904.0));
    q.scale.push_back(s);
    q.zero_point.push_back(0);
  }
  q.axis = 0;
  q.bitwidth = 32;  // the .octet format bounds bitwidths at 32; the values are i64
  q.symmetric = true;
  return add_constant(t.name + "_q", DType::kI64, {N}, codes.data(), codes.size() * 8,
                      std::move(q));
}

}  // namespace octet::lowering
