// Span quantizers: the reference is a plain loop over elements with the encoding index computed per
// element; the fast path cuts the tensor into runs for simd/quantize.h (one parameter set per run,
// or one per element when the parameters vary along the contiguous dimension).
#include "quant/quantize.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "base/error.h"
#include "simd/quantize.h"

namespace octet::quant {

QParams qparams(const Encoding& e, CodeDomain domain) {
  QParams p;
  p.scale = static_cast<float>(e.scale);
  const int64_t N = e.num_steps();
  const int64_t shift = domain == CodeDomain::kUnsigned
                            ? 0
                            : (int64_t{1} << (e.bitwidth - 1)) - (e.strict_symmetric ? 1 : 0);
  p.zero_point = static_cast<float>(-int64_t{e.offset} - shift);
  p.qmin = static_cast<float>(-shift);
  p.qmax = static_cast<float>(N - shift);
  return p;
}

PreparedQuant prepare_quant(const TensorEncoding& te, std::span<const int64_t> shape,
                            CodeDomain domain, const std::string& what) {
  validate_tensor_encoding(te, shape, what);
  PreparedQuant p;
  p.layout = axis_layout(shape, te.axis);
  p.axis = te.axis;
  p.block_size = te.block_size;
  p.scale.reserve(te.encodings.size());
  p.zero_point.reserve(te.encodings.size());
  for (const Encoding& e : te.encodings) {
    const QParams q = qparams(e, domain);
    p.scale.push_back(q.scale);
    p.zero_point.push_back(q.zero_point);
    p.qmin = q.qmin;  // identical for all (validated: same bitwidth and flags)
    p.qmax = q.qmax;
  }
  return p;
}

PreparedQuant prepare_quant(const Encoding& e, size_t n, CodeDomain domain,
                            const std::string& what) {
  TensorEncoding te;
  te.encodings.push_back(e);
  const int64_t shape[1] = {static_cast<int64_t>(n)};
  return prepare_quant(te, shape, domain, what);
}

namespace {

// Index of the encoding of element (o, c, i).
inline size_t encoding_index(const PreparedQuant& p, size_t o, size_t c, size_t i) {
  if (p.axis == -1) return 0;
  if (p.block_size <= 0) return c;
  const size_t B = static_cast<size_t>(p.block_size);
  const size_t nb = (p.layout.channels + B - 1) / B;
  return (o * nb + c / B) * p.layout.inner + i;
}

// Calls f(begin, count, QRunParams) over runs covering the whole tensor in order.
template <class F>
void for_each_run(const PreparedQuant& p, F&& f) {
  const AxisLayout& l = p.layout;
  auto uniform = [&](size_t k) {
    return simd::QRunParams{&p.scale[k], &p.zero_point[k], false, p.qmin, p.qmax};
  };
  auto varying = [&](size_t k) {
    return simd::QRunParams{&p.scale[k], &p.zero_point[k], true, p.qmin, p.qmax};
  };
  if (l.size() == 0) return;
  if (p.axis == -1) return f(size_t{0}, l.size(), uniform(0));
  if (p.block_size <= 0) {
    if (l.inner == 1) {  // channels are contiguous: parameters vary per element
      for (size_t o = 0; o < l.outer; ++o) f(o * l.channels, l.channels, varying(0));
    } else {
      for (size_t o = 0; o < l.outer; ++o)
        for (size_t c = 0; c < l.channels; ++c)
          f((o * l.channels + c) * l.inner, l.inner, uniform(c));
    }
    return;
  }
  const size_t B = static_cast<size_t>(p.block_size);
  const size_t nb = (l.channels + B - 1) / B;
  if (l.inner == 1) {  // a block is B contiguous elements
    for (size_t o = 0; o < l.outer; ++o)
      for (size_t b = 0; b < nb; ++b) {
        const size_t c0 = b * B, len = std::min(B, l.channels - c0);
        f(o * l.channels + c0, len, uniform(o * nb + b));
      }
  } else {  // along inner the parameters are consecutive entries
    for (size_t o = 0; o < l.outer; ++o)
      for (size_t c = 0; c < l.channels; ++c)
        f((o * l.channels + c) * l.inner, l.inner, varying((o * nb + c / B) * l.inner));
  }
}

template <typename T>
constexpr simd::QCode code_of() {
  if constexpr (std::is_same_v<T, int32_t>) return simd::QCode::kI32;
  if constexpr (std::is_same_v<T, int16_t>) return simd::QCode::kI16;
  if constexpr (std::is_same_v<T, uint16_t>) return simd::QCode::kU16;
  if constexpr (std::is_same_v<T, int8_t>) return simd::QCode::kI8;
  if constexpr (std::is_same_v<T, uint8_t>) return simd::QCode::kU8;
}

template <typename T>
void check_code_type(const PreparedQuant& p) {
  OCTET_CHECK(p.qmin >= static_cast<float>(std::numeric_limits<T>::min()) &&
                  p.qmax <= static_cast<float>(std::numeric_limits<T>::max()),
              "quantize: codes [", p.qmin, ", ", p.qmax, "] do not fit the ", sizeof(T) * 8,
              "-bit ", std::numeric_limits<T>::is_signed ? "signed" : "unsigned", " code type");
}

void check_sizes(size_t a, size_t b, const PreparedQuant& p) {
  OCTET_CHECK(a == p.layout.size() && b == p.layout.size(), "quantize: span sizes ", a, " and ", b,
              " do not match the encoding's tensor of ", p.layout.size(), " elements");
}

}  // namespace

template <typename T>
void quantize(std::span<const float> x, std::span<T> q, const PreparedQuant& p, bool reference) {
  check_sizes(x.size(), q.size(), p);
  check_code_type<T>(p);
  const AxisLayout& l = p.layout;
  if (reference) {
    size_t n = 0;
    for (size_t o = 0; o < l.outer; ++o)
      for (size_t c = 0; c < l.channels; ++c)
        for (size_t i = 0; i < l.inner; ++i, ++n) {
          const size_t k = encoding_index(p, o, c, i);
          q[n] = static_cast<T>(
              simd::quantize_code_f32(x[n], p.scale[k], p.zero_point[k], p.qmin, p.qmax));
        }
    return;
  }
  for_each_run(p, [&](size_t begin, size_t count, const simd::QRunParams& r) {
    simd::quantize_f32(x.data() + begin, q.data() + begin, code_of<T>(), count, r);
  });
}

template <typename T>
void dequantize(std::span<const T> q, std::span<float> y, const PreparedQuant& p, bool reference) {
  check_sizes(q.size(), y.size(), p);
  const AxisLayout& l = p.layout;
  if (reference) {
    size_t n = 0;
    for (size_t o = 0; o < l.outer; ++o)
      for (size_t c = 0; c < l.channels; ++c)
        for (size_t i = 0; i < l.inner; ++i, ++n) {
          const size_t k = encoding_index(p, o, c, i);
          y[n] = simd::dequantize_code_f32(static_cast<float>(q[n]), p.scale[k], p.zero_point[k]);
        }
    return;
  }
  for_each_run(p, [&](size_t begin, size_t count, const simd::QRunParams& r) {
    simd::dequantize_f32(q.data() + begin, code_of<T>(), y.data() + begin, count, r);
  });
}

void quantize_dequantize(std::span<const float> x, std::span<float> y, const PreparedQuant& p,
                         bool reference) {
  check_sizes(x.size(), y.size(), p);
  const AxisLayout& l = p.layout;
  if (reference) {
    size_t n = 0;
    for (size_t o = 0; o < l.outer; ++o)
      for (size_t c = 0; c < l.channels; ++c)
        for (size_t i = 0; i < l.inner; ++i, ++n) {
          const size_t k = encoding_index(p, o, c, i);
          y[n] = simd::quantize_dequantize_f32_one(x[n], p.scale[k], p.zero_point[k], p.qmin,
                                                   p.qmax);
        }
    return;
  }
  for_each_run(p, [&](size_t begin, size_t count, const simd::QRunParams& r) {
    simd::quantize_dequantize_f32(x.data() + begin, y.data() + begin, count, r);
  });
}

#define OCTET_QUANT_INSTANTIATE(T)                                                           \
  template void quantize<T>(std::span<const float>, std::span<T>, const PreparedQuant&, bool); \
  template void dequantize<T>(std::span<const T>, std::span<float>, const PreparedQuant&, bool);
OCTET_QUANT_INSTANTIATE(int32_t)
OCTET_QUANT_INSTANTIATE(int16_t)
OCTET_QUANT_INSTANTIATE(uint16_t)
OCTET_QUANT_INSTANTIATE(int8_t)
OCTET_QUANT_INSTANTIATE(uint8_t)
#undef OCTET_QUANT_INSTANTIATE

}  // namespace octet::quant
