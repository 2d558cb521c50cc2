#include "kernels/reduce.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/parallel.h"
#include "simd/reduce.h"

namespace octet::kernels {
namespace {

float init_value(ReduceKind k) {
  if (k == ReduceKind::kMax) return -std::numeric_limits<float>::infinity();
  if (k == ReduceKind::kMin) return std::numeric_limits<float>::infinity();
  return 0.f;
}

}  // namespace

void reduce_reference(ReduceKind kind, const float* x, float* y, const std::vector<int64_t>& dims,
                      const std::vector<bool>& reduced) {
  const size_t rank = dims.size();
  int64_t total = 1, out_total = 1, count = 1;
  std::vector<int64_t> out_stride(rank, 0);
  for (size_t a = rank; a-- > 0;) {
    total *= dims[a];
    if (reduced[a]) {
      count *= dims[a];
    } else {
      out_stride[a] = out_total;
      out_total *= dims[a];
    }
  }
  std::vector<double> acc(static_cast<size_t>(out_total), init_value(kind));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t o = 0;
    for (size_t a = 0; a < rank; ++a) o += idx[a] * out_stride[a];
    double v = x[i];
    double& r = acc[static_cast<size_t>(o)];
    if (kind == ReduceKind::kMax) r = std::max(r, v);
    else if (kind == ReduceKind::kMin) r = std::min(r, v);
    else r += v;
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < dims[a]) break;
      idx[a] = 0;
    }
  }
  for (int64_t o = 0; o < out_total; ++o) {
    double r = acc[static_cast<size_t>(o)];
    if (kind == ReduceKind::kMean) r = count > 0 ? r / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
    y[o] = static_cast<float>(r);
  }
}

void reduce_f32(ReduceKind kind, const float* x, float* y, int64_t outer, int64_t n, int64_t inner,
                int threads) {
  const bool is_max = kind == ReduceKind::kMax, is_min = kind == ReduceKind::kMin;
  const float mean_scale = n > 0 ? 1.f / static_cast<float>(n) : std::numeric_limits<float>::quiet_NaN();
  if (inner == 1) {
    parallel_for(outer, threads, [&](int64_t o, int) {
      const float* r = x + o * n;
      float v;
      if (is_max) v = simd::reduce_max(r, static_cast<size_t>(n));
      else if (is_min) {
        v = std::numeric_limits<float>::infinity();
        for (int64_t k = 0; k < n; ++k) v = std::min(v, r[k]);
      } else v = simd::reduce_sum(r, static_cast<size_t>(n));
      y[o] = kind == ReduceKind::kMean ? v * mean_scale : v;
    });
    return;
  }
  const size_t w = static_cast<size_t>(inner);
  parallel_for(outer, threads, [&](int64_t o, int) {
    float* out = y + o * inner;
    const float* b = x + o * n * inner;
    std::fill(out, out + inner, init_value(kind));
    for (int64_t k = 0; k < n; ++k) {
      const float* r = b + k * inner;
      if (is_max) simd::max_into(out, r, w);
      else if (is_min) for (size_t i = 0; i < w; ++i) out[i] = std::min(out[i], r[i]);
      else simd::add_into(out, r, w);
    }
    if (kind == ReduceKind::kMean) simd::scale(out, out, w, mean_scale);
  });
}

}  // namespace octet::kernels
