#include "kernels/quantize_linear.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/parallel.h"
#include "simd/quantize.h"

namespace octet::kernels {
namespace {

int64_t scale_index(const QdqLayout& l, int64_t i) {
  switch (l.granularity) {
    case QdqGranularity::kPerTensor: return 0;
    case QdqGranularity::kPerAxis: return (i / l.inner) % l.channels;
    case QdqGranularity::kBlocked: {
      const int64_t in = i % l.inner, c = (i / l.inner) % l.channels, o = i / (l.inner * l.channels);
      const int64_t blocks = (l.channels + l.block - 1) / l.block;
      return (o * blocks + c / l.block) * l.inner + in;
    }
  }
  return 0;
}

int32_t load_int(DType t, const void* p, int64_t i) {
  switch (t) {
    case DType::kI8: return static_cast<const int8_t*>(p)[i];
    case DType::kU8: return static_cast<const uint8_t*>(p)[i];
    case DType::kI16: return static_cast<const int16_t*>(p)[i];
    case DType::kU16: return static_cast<const uint16_t*>(p)[i];
    case DType::kI32: return static_cast<const int32_t*>(p)[i];
    case DType::kU4:
    case DType::kI4: {
      const uint8_t b = static_cast<const uint8_t*>(p)[i / 2];
      const int32_t v = (i % 2) ? (b >> 4) : (b & 0xF);
      return t == DType::kI4 && v >= 8 ? v - 16 : v;
    }
    default: return 0;
  }
}

// 4-bit: callers write whole bytes (pairs of elements) from one thread.
void store_int(DType t, void* p, int64_t i, int32_t v) {
  switch (t) {
    case DType::kI8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v); break;
    case DType::kU8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v); break;
    case DType::kI16: static_cast<int16_t*>(p)[i] = static_cast<int16_t>(v); break;
    case DType::kU16: static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(v); break;
    case DType::kU4:
    case DType::kI4: {
      uint8_t& b = static_cast<uint8_t*>(p)[i / 2];
      const uint8_t nib = static_cast<uint8_t>(v) & 0xF;
      b = (i % 2) ? static_cast<uint8_t>((b & 0x0F) | (nib << 4)) : static_cast<uint8_t>((b & 0xF0) | nib);
      break;
    }
    default: break;
  }
}

// NaN quantizes to the zero point.
inline int32_t quantize_one(float x, float scale, float zp, float lo, float hi) {
  float q = std::nearbyint(x / scale) + zp;  // default rounding mode: half to even
  if (std::isnan(q)) return static_cast<int32_t>(zp);
  q = std::min(std::max(q, lo), hi);
  return static_cast<int32_t>(q);
}

inline float dequantize_one(int32_t q, float scale, int32_t zp) {
  return static_cast<float>(int64_t{q} - zp) * scale;
}

// A row [o, c, :] of `inner` elements: its scales start at `base` and advance by `stride`.
struct Row {
  int64_t base, stride;
};
Row row_params(const QdqLayout& l, int64_t r) {
  switch (l.granularity) {
    case QdqGranularity::kPerTensor: return {0, 0};
    case QdqGranularity::kPerAxis: return {r % l.channels, 0};
    case QdqGranularity::kBlocked: {
      const int64_t c = r % l.channels, o = r / l.channels;
      const int64_t blocks = (l.channels + l.block - 1) / l.block;
      return {(o * blocks + c / l.block) * l.inner, 1};
    }
  }
  return {0, 0};
}

template <typename T>
constexpr simd::QCode simd_code() {
  if constexpr (std::is_same_v<T, int8_t>) return simd::QCode::kI8;
  else if constexpr (std::is_same_v<T, uint8_t>) return simd::QCode::kU8;
  else if constexpr (std::is_same_v<T, int16_t>) return simd::QCode::kI16;
  else return simd::QCode::kU16;
}

template <typename T>
void quantize_rows(const QdqLayout& l, const float* x, const float* scale, const int32_t* zp,
                   DType out, T* y, int threads) {
  const int64_t rows = l.outer * l.channels, inner = l.inner;
  const float lo = static_cast<float>(qdq_min(out)), hi = static_cast<float>(qdq_max(out));
  const int use = l.count() >= (1 << 15) ? threads : 1;
  // Runs sharing one scale go through the vectorized quantize (the same arithmetic as
  // quantize_one: true division, half to even, NaN -> zero point), in chunks across threads.
  const simd::QCode code = simd_code<T>();
  if (l.granularity == QdqGranularity::kPerTensor) {
    const float s = scale[0], z = static_cast<float>(zp[0]);
    const simd::QRunParams p{&s, &z, false, lo, hi};
    const int64_t n = l.count(), chunk = std::max<int64_t>(1 << 14, (n + use - 1) / use);
    parallel_for((n + chunk - 1) / chunk, use, [&](int64_t c, int) {
      simd::quantize_f32(x + c * chunk, y + c * chunk, code, size_t(std::min(chunk, n - c * chunk)), p);
    });
    return;
  }
  parallel_for(rows, use, [&](int64_t r, int) {
    const Row p = row_params(l, r);
    const float* xr = x + r * inner;
    T* yr = y + r * inner;
    if (p.stride == 0) {
      const float s = scale[p.base], z = static_cast<float>(zp[p.base]);
      simd::quantize_f32(xr, yr, code, size_t(inner), simd::QRunParams{&s, &z, false, lo, hi});
    } else {
      for (int64_t i = 0; i < inner; ++i)
        yr[i] = static_cast<T>(quantize_one(xr[i], scale[p.base + i], static_cast<float>(zp[p.base + i]), lo, hi));
    }
  });
}

template <typename T>
void dequantize_rows(const QdqLayout& l, const T* x, const float* scale, const int32_t* zp,
                     float* y, int threads) {
  const int64_t rows = l.outer * l.channels, inner = l.inner;
  const int use = l.count() >= (1 << 15) ? threads : 1;
  parallel_for(rows, use, [&](int64_t r, int) {
    const Row p = row_params(l, r);
    const T* xr = x + r * inner;
    float* yr = y + r * inner;
    if (p.stride == 0) {
      const float s = scale[p.base];
      const int32_t z = zp[p.base];
      for (int64_t i = 0; i < inner; ++i) yr[i] = dequantize_one(static_cast<int32_t>(xr[i]), s, z);
    } else {
      for (int64_t i = 0; i < inner; ++i)
        yr[i] = dequantize_one(static_cast<int32_t>(xr[i]), scale[p.base + i], zp[p.base + i]);
    }
  });
}

// 4-bit: element pairs (one byte) per iteration, in parallel chunks of whole bytes.
void quantize_4bit(const QdqLayout& l, const float* x, const float* scale, const int32_t* zp,
                   DType out, uint8_t* y, int threads) {
  const int64_t n = l.count(), bytes = (n + 1) / 2;
  const float lo = static_cast<float>(qdq_min(out)), hi = static_cast<float>(qdq_max(out));
  const int use = n >= (1 << 15) ? threads : 1;
  parallel_for(bytes, use, [&](int64_t b, int) {
    uint8_t v = 0;
    for (int64_t k = 0; k < 2 && 2 * b + k < n; ++k) {
      const int64_t i = 2 * b + k, s = scale_index(l, i);
      const int32_t q = quantize_one(x[i], scale[s], static_cast<float>(zp[s]), lo, hi);
      v |= static_cast<uint8_t>((static_cast<uint8_t>(q) & 0xF) << (4 * k));
    }
    y[b] = v;
  });
}

}  // namespace

int64_t QdqLayout::params() const {
  switch (granularity) {
    case QdqGranularity::kPerTensor: return 1;
    case QdqGranularity::kPerAxis: return channels;
    case QdqGranularity::kBlocked: return outer * ((channels + block - 1) / block) * inner;
  }
  return 1;
}

bool qdq_int_type(DType t) {
  return t == DType::kI8 || t == DType::kU8 || t == DType::kI16 || t == DType::kU16 ||
         t == DType::kI4 || t == DType::kU4;
}

int32_t qdq_min(DType t) {
  switch (t) {
    case DType::kI8: return -128;
    case DType::kI16: return -32768;
    case DType::kI4: return -8;
    case DType::kI32: return INT32_MIN;
    default: return 0;
  }
}

int32_t qdq_max(DType t) {
  switch (t) {
    case DType::kI8: return 127;
    case DType::kU8: return 255;
    case DType::kI16: return 32767;
    case DType::kU16: return 65535;
    case DType::kI4: return 7;
    case DType::kU4: return 15;
    case DType::kI32: return INT32_MAX;
    default: return 0;
  }
}

std::vector<int32_t> qdq_zero_points(DType t, const void* zp, int64_t count) {
  std::vector<int32_t> v(static_cast<size_t>(count), 0);
  if (zp)
    for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = load_int(t, zp, i);
  return v;
}

void quantize_linear_reference(const QdqLayout& l, const float* x, const float* scale,
                               const int32_t* zp, DType out, void* y) {
  const float lo = static_cast<float>(qdq_min(out)), hi = static_cast<float>(qdq_max(out));
  for (int64_t i = 0, n = l.count(); i < n; ++i) {
    const int64_t s = scale_index(l, i);
    store_int(out, y, i, quantize_one(x[i], scale[s], static_cast<float>(zp[s]), lo, hi));
  }
}

void quantize_linear(const QdqLayout& l, const float* x, const float* scale, const int32_t* zp,
                     DType out, void* y, int threads) {
  switch (out) {
    case DType::kI8: quantize_rows(l, x, scale, zp, out, static_cast<int8_t*>(y), threads); break;
    case DType::kU8: quantize_rows(l, x, scale, zp, out, static_cast<uint8_t*>(y), threads); break;
    case DType::kI16: quantize_rows(l, x, scale, zp, out, static_cast<int16_t*>(y), threads); break;
    case DType::kU16: quantize_rows(l, x, scale, zp, out, static_cast<uint16_t*>(y), threads); break;
    case DType::kI4:
    case DType::kU4: quantize_4bit(l, x, scale, zp, out, static_cast<uint8_t*>(y), threads); break;
    default: break;
  }
}

void dequantize_linear_reference(const QdqLayout& l, DType in, const void* x, const float* scale,
                                 const int32_t* zp, float* y) {
  for (int64_t i = 0, n = l.count(); i < n; ++i) {
    const int64_t s = scale_index(l, i);
    y[i] = dequantize_one(load_int(in, x, i), scale[s], zp[s]);
  }
}

void dequantize_linear(const QdqLayout& l, DType in, const void* x, const float* scale,
                       const int32_t* zp, float* y, int threads) {
  switch (in) {
    case DType::kI8: dequantize_rows(l, static_cast<const int8_t*>(x), scale, zp, y, threads); break;
    case DType::kU8: dequantize_rows(l, static_cast<const uint8_t*>(x), scale, zp, y, threads); break;
    case DType::kI16: dequantize_rows(l, static_cast<const int16_t*>(x), scale, zp, y, threads); break;
    case DType::kU16: dequantize_rows(l, static_cast<const uint16_t*>(x), scale, zp, y, threads); break;
    case DType::kI32: dequantize_rows(l, static_cast<const int32_t*>(x), scale, zp, y, threads); break;
    default: {  // packed 4-bit
      const int64_t n = l.count();
      const int use = n >= (1 << 15) ? threads : 1;
      parallel_for(n, use, [&](int64_t i, int) {
        const int64_t s = scale_index(l, i);
        y[i] = dequantize_one(load_int(in, x, i), scale[s], zp[s]);
      });
    }
  }
}

void dynamic_quantize_linear(const float* x, int64_t count, uint8_t* y, float* scale,
                             uint8_t* zero_point) {
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < count; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float s = (hi - lo) / 255.f;
  if (!(s > 0.f) || !std::isfinite(s)) {
    *scale = std::isfinite(s) ? s : 0.f;
    *zero_point = 0;
    std::fill(y, y + count, uint8_t{0});
    return;
  }
  const float zpf = std::min(std::max(std::nearbyint(0.f - lo / s), 0.f), 255.f);
  *scale = s;
  *zero_point = static_cast<uint8_t>(zpf);
  for (int64_t i = 0; i < count; ++i) y[i] = static_cast<uint8_t>(quantize_one(x[i], s, zpf, 0.f, 255.f));
}

}  // namespace octet::kernels#include "simd/quantize.h"

