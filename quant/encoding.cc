// compute_encoding follows libpymo's getComputedEncodings (AIMET's C++ encoding code)
// (all arithmetic in double, as libpymo's TfEncoding; std::round = half away from zero there).
#include "quant/encoding.h"

#include <cfloat>
#include <cmath>

#include "base/error.h"

namespace octet::quant {

namespace {
void check_bitwidth(int bitwidth, const std::string& what) {
  OCTET_CHECK(bitwidth >= kMinBitwidth && bitwidth <= kMaxBitwidth, what, ": bitwidth ", bitwidth,
              " outside the simulator's range [", kMinBitwidth, ", ", kMaxBitwidth, "]");
}
}  // namespace

Encoding compute_encoding(float min_in, float max_in, int bitwidth, EncodingKind kind) {
  check_bitwidth(bitwidth, "compute_encoding");
  OCTET_CHECK(!std::isnan(min_in) && !std::isnan(max_in), "compute_encoding: NaN range [", min_in,
              ", ", max_in, "]");
  OCTET_CHECK(min_in <= max_in, "compute_encoding: min ", min_in, " > max ", max_in);

  const bool symmetric = kind != EncodingKind::kAsymmetric;
  const bool strict = kind == EncodingKind::kStrictSymmetric ||
                      kind == EncodingKind::kUnsignedStrictSymmetric;
  const bool unsigned_symmetric = kind == EncodingKind::kUnsignedSymmetric ||
                                  kind == EncodingKind::kUnsignedStrictSymmetric;

  // Pre-step: +-inf -> +-FLT_MAX, include 0, at least kMinEncodingRange wide.
  double min = std::fmax(static_cast<double>(min_in), -static_cast<double>(FLT_MAX));
  double max = std::fmin(static_cast<double>(max_in), static_cast<double>(FLT_MAX));
  min = std::fmin(min, 0.0);
  max = std::fmax(max, 0.0);
  max = std::fmax(max, min + kMinEncodingRange);

  Encoding e;
  e.bitwidth = bitwidth;
  e.symmetric = symmetric;
  e.strict_symmetric = strict;
  const double N = static_cast<double>(e.num_steps());

  if (symmetric && (min < 0.0 || !unsigned_symmetric)) {
    // Symmetric: delta = absmax / floor(N/2), offset = -ceil(N/2).
    const double absmax = std::fmax(std::fabs(min), std::fabs(max));
    const double half_down = std::floor(N / 2.0), half_up = std::ceil(N / 2.0);
    e.scale = absmax / half_down;
    e.offset = static_cast<int>(-half_up);
    e.min = e.offset * e.scale;
    e.max = half_down * e.scale;
    return e;
  }
  // Unsigned symmetric (min == 0) and asymmetric: delta = (max - min) / N.
  e.scale = (max - min) / N;
  if (min < 0.0 && max > 0.0) {
    double zp = std::round(-min / e.scale);  // half away from zero (C round)
    zp = std::fmin(std::fmax(zp, 0.0), N);
    e.offset = static_cast<int>(-zp);
    e.min = e.offset * e.scale;  // 0 now falls exactly on the grid
    e.max = max - min + e.min;   // the width is kept
  } else {
    e.offset = static_cast<int>(std::round(min / e.scale));  // 0 (min == 0) or -N (max == 0)
    e.min = min;
    e.max = max;
  }
  return e;
}

void validate_encoding(const Encoding& e, const std::string& what) {
  check_bitwidth(e.bitwidth, what);
  const float s = static_cast<float>(e.scale);
  OCTET_CHECK(std::isfinite(s) && s > 0.0f && std::isnormal(s), what, ": scale ", e.scale,
              " is not a positive normal float");
  OCTET_CHECK(!e.strict_symmetric || e.symmetric, what, ": strict_symmetric without symmetric");
  const int64_t N = e.num_steps();
  OCTET_CHECK(e.offset <= 0 && e.offset >= -N, what, ": offset ", e.offset, " outside [", -N,
              ", 0] (0 must be on the grid)");
}

AxisLayout axis_layout(std::span<const int64_t> shape, int axis) {
  AxisLayout l;
  size_t total = 1;
  for (int64_t d : shape) {
    OCTET_CHECK(d >= 0, "axis_layout: negative dimension ", d);
    total *= static_cast<size_t>(d);
  }
  if (axis == -1) {
    l.channels = total;
    return l;
  }
  OCTET_CHECK(axis >= 0 && static_cast<size_t>(axis) < shape.size(), "axis_layout: axis ", axis,
              " outside a rank-", shape.size(), " tensor");
  for (int i = 0; i < axis; ++i) l.outer *= static_cast<size_t>(shape[i]);
  l.channels = static_cast<size_t>(shape[axis]);
  for (size_t i = static_cast<size_t>(axis) + 1; i < shape.size(); ++i)
    l.inner *= static_cast<size_t>(shape[i]);
  return l;
}

size_t expected_encoding_count(const AxisLayout& l, int axis, int block_size) {
  if (axis == -1) return 1;
  if (block_size <= 0) return l.channels;
  const size_t B = static_cast<size_t>(block_size);
  return l.outer * ((l.channels + B - 1) / B) * l.inner;
}

void validate_tensor_encoding(const TensorEncoding& te, std::span<const int64_t> shape,
                              const std::string& what) {
  OCTET_CHECK(!te.encodings.empty(), what, ": no encodings");
  OCTET_CHECK(te.block_size >= 0, what, ": negative block_size ", te.block_size);
  OCTET_CHECK(te.axis != -1 || te.block_size == 0, what, ": block_size without an axis");
  const AxisLayout l = axis_layout(shape, te.axis);
  const size_t want = expected_encoding_count(l, te.axis, te.block_size);
  OCTET_CHECK(te.encodings.size() == want, what, ": ", te.encodings.size(),
              " encodings where the shape and axis ", te.axis, " need ", want);
  const Encoding& first = te.encodings.front();
  for (size_t i = 0; i < te.encodings.size(); ++i) {
    const Encoding& e = te.encodings[i];
    validate_encoding(e, what + " [" + std::to_string(i) + "]");
    OCTET_CHECK(e.bitwidth == first.bitwidth && e.symmetric == first.symmetric &&
                    e.strict_symmetric == first.strict_symmetric,
                what, " [", i, "]: bitwidth/symmetry differ from encoding 0");
  }
}

}  // namespace octet::quant
