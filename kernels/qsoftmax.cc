#include "kernels/qsoftmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "kernels/parallel.h"
#include "kernels/qcodes.h"
#include "simd/quantize.h"

namespace octet::kernels {
namespace {

inline float dequant(const QSoftmaxParams& p, int32_t q) { return float(q - p.zx) * p.sx; }

// e[i] holds the exponentials on return of the first pass; shared by both kernels.
void finish_row(const QSoftmaxParams& p, const float* e, float sum, void* y, int64_t base,
                int64_t stride) {
  const float zy = float(p.zy), lo = float(p.qmin), hi = float(p.qmax);
  for (int64_t i = 0; i < p.n; ++i)
    store_code(y, p.y_type, base + i * stride,
               int32_t(simd::quantize_code_f32(e[i] / sum, p.sy, zy, lo, hi)));
}

void row_expf(const QSoftmaxParams& p, const void* x, void* y, int64_t base, int64_t stride,
              float* e) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < p.n; ++i) {
    e[i] = dequant(p, load_code(x, p.x_type, base + i * stride));
    m = e[i] > m ? e[i] : m;
  }
  float sum = 0.f;
  for (int64_t i = 0; i < p.n; ++i) {
    e[i] = std::exp(e[i] - m);
    sum += e[i];
  }
  finish_row(p, e, sum, y, base, stride);
}

void row_table(const QSoftmaxParams& p, const float* table, const void* x, void* y, int64_t base,
               int64_t stride, float* e) {
  const int32_t cmin = code8_min(p.x_type);
  int32_t m = cmin;
  for (int64_t i = 0; i < p.n; ++i) {
    const int32_t q = load_code(x, p.x_type, base + i * stride);
    m = q > m ? q : m;
  }
  const float* t = table + (m - cmin) * 256;
  float sum = 0.f;
  for (int64_t i = 0; i < p.n; ++i) {
    e[i] = t[load_code(x, p.x_type, base + i * stride) - cmin];
    sum += e[i];
  }
  finish_row(p, e, sum, y, base, stride);
}

void row_mlas(const QSoftmaxParams& p, const float* table, const void* x, void* y, int64_t base,
              int64_t stride, float* e) {
  int32_t m = code8_min(p.x_type);
  for (int64_t i = 0; i < p.n; ++i) {
    const int32_t q = load_code(x, p.x_type, base + i * stride);
    m = q > m ? q : m;
  }
  float sum = 0.f;
  for (int64_t i = 0; i < p.n; ++i) {
    e[i] = table[255 - (m - load_code(x, p.x_type, base + i * stride))];
    sum += e[i];
  }
  const float ys = std::floor(1.f / p.sy);
  const int32_t hi = code8_max(p.y_type), lo = code8_min(p.y_type);
  for (int64_t i = 0; i < p.n; ++i) {
    const float prod = e[i] * ys;
    const float r = std::nearbyint(prod / sum);
    // ORT converts r to uint32 through a 64-bit conversion: a value out of its range (inf when
    // n == 1, where T[255] * Ys overflows) becomes 0 on x86-64.
    const int64_t u = std::isfinite(r) && std::fabs(r) < 9.2e18f ? int64_t(uint32_t(int64_t(r))) : 0;
    store_code(y, p.y_type, base + i * stride, int32_t(std::clamp<int64_t>(u + p.zy, lo, hi)));
  }
}

}  // namespace

std::vector<float> qsoftmax_mlas_table(const QSoftmaxParams& p) {
  const float log_range = std::log(std::numeric_limits<float>::max() / float(p.n));
  const double shift = std::max(0.0, double(log_range) - 5.0) / double(p.sx);
  std::vector<float> t(256);
  for (int j = 0; j < 256; ++j) t[size_t(j)] = float(std::exp((double(j) - 255.0 + shift) * double(p.sx)));
  return t;
}

void qsoftmax_reference(const QSoftmaxParams& p, const void* x, void* y) {
  std::vector<float> e(size_t(p.n));
  if (p.arith == OpArithmetic::kMlas) {
    const std::vector<float> table = qsoftmax_mlas_table(p);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t j = 0; j < p.inner; ++j)
        row_mlas(p, table.data(), x, y, o * p.n * p.inner + j, p.inner, e.data());
    return;
  }
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t j = 0; j < p.inner; ++j) row_expf(p, x, y, o * p.n * p.inner + j, p.inner, e.data());
}

std::vector<float> qsoftmax_exp_table(const QSoftmaxParams& p) {
  const int32_t cmin = code8_min(p.x_type);
  std::vector<float> t(256 * 256);
  for (int32_t m = 0; m < 256; ++m)
    for (int32_t q = 0; q < 256; ++q)  // the same expression as row_expf: expf(v - max v)
      t[size_t(m) * 256 + q] = std::exp(dequant(p, q + cmin) - dequant(p, m + cmin));
  return t;
}

void qsoftmax(const QSoftmaxParams& p, const std::vector<float>& table, const void* x, void* y,
              int threads) {
  if (p.arith == OpArithmetic::kMlas && table.size() != 256)
    throw std::invalid_argument("qsoftmax: the ONNX Runtime arithmetic needs its 256-entry table");
  const int64_t rows = p.outer * p.inner;
  parallel_region(threads, [&] {
    std::vector<float> e(size_t(p.n));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t o = r / p.inner, j = r % p.inner, base = o * p.n * p.inner + j;
      if (p.arith == OpArithmetic::kMlas) row_mlas(p, table.data(), x, y, base, p.inner, e.data());
      else if (table.empty()) row_expf(p, x, y, base, p.inner, e.data());
      else row_table(p, table.data(), x, y, base, p.inner, e.data());
    }
  });
}

}  // namespace octet::kernels
