#include "kernels/qresize.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/dims.h"
#include "kernels/parallel.h"
#include "kernels/qcodes.h"
#include "simd/round_half_even.h"

namespace octet::kernels {
namespace {

bool split(const ResizeParams& g, const ResizeAxis& ax, int64_t o) {
  return g.linear && ax.w[o] != 0.f && ax.i1[o] != ax.i0[o];
}

int32_t round_code(float acc, DType t) {
  return clamp_code(int64_t(simd::round_half_even(acc)), code8_min(t), code8_max(t));
}

}  // namespace

void qresize_reference(const QResizeParams& p, const void* x, void* y) {
  const ResizeParams& g = p.geo;
  if (checked_numel(g.out) == 0) return;  // no source tables are built for an empty output
  const size_t r = g.in.size();
  std::vector<int64_t> stride(r, 1);
  for (size_t a = r - 1; a-- > 0;) stride[a] = stride[a + 1] * g.in[a + 1];
  int64_t total = checked_numel(g.out);
  std::vector<int64_t> o(r, 0);
  std::vector<size_t> split_axes;
  for (int64_t i = 0; i < total; ++i) {
    bool outside = false;
    for (size_t a = 0; a < r; ++a) outside = outside || g.axes[a].outside[o[a]];
    int32_t v = p.extrapolation_code;
    if (!outside) {
      int64_t base = 0;
      split_axes.clear();
      for (size_t a = 0; a < r; ++a) {
        base += g.axes[a].i0[o[a]] * stride[a];
        if (split(g, g.axes[a], o[a])) split_axes.push_back(a);
      }
      if (split_axes.empty()) {
        v = load_code(x, p.type, base);
      } else {
        float acc = 0.f;
        for (int64_t c = 0; c < (int64_t(1) << split_axes.size()); ++c) {
          float wt = 1.f;
          int64_t off = base;
          for (size_t j = 0; j < split_axes.size(); ++j) {
            const ResizeAxis& ax = g.axes[split_axes[j]];
            const int64_t oa = o[split_axes[j]];
            if ((c >> j) & 1) {
              wt *= ax.w[oa];
              off += (ax.i1[oa] - ax.i0[oa]) * stride[split_axes[j]];
            } else {
              wt *= 1.f - ax.w[oa];
            }
          }
          acc += wt * float(load_code(x, p.type, off));
        }
        v = round_code(acc, p.type);
      }
    }
    store_code(y, p.type, i, v);
    for (size_t a = r; a-- > 0;) {
      if (++o[a] < g.out[a]) break;
      o[a] = 0;
    }
  }
}

namespace {

template <typename T>
void qresize_typed(const QResizeParams& p, const T* x, T* y, int threads) {
  const ResizeParams& g = p.geo;
  if (checked_numel(g.out) == 0) return;  // no source tables are built for an empty output
  // Trailing axes that are plain copies form contiguous blocks of `inner` codes.
  size_t rr = g.in.size();
  int64_t inner = 1;
  while (rr > 0 && g.axes[rr - 1].identity(g.in[rr - 1])) inner *= g.in[--rr];
  if (rr == 0) {
    std::memcpy(y, x, size_t(inner) * sizeof(T));
    return;
  }
  const size_t last = rr - 1;  // the row axis
  std::vector<int64_t> stride(rr, inner);
  for (size_t a = last; a-- > 0;) stride[a] = stride[a + 1] * g.in[a + 1];
  int64_t outer = 1;
  for (size_t a = 0; a < last; ++a) outer *= g.out[a];
  const ResizeAxis& row_axis = g.axes[last];
  const int64_t out_row = g.out[last];
  const T ev = T(p.extrapolation_code);
  parallel_region(threads, [&] {
    std::vector<int64_t> base;
    std::vector<float> weight;
    std::vector<float> acc(static_cast<size_t>(inner));
    std::vector<int64_t> o(last);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < outer; ++t) {
      T* yr = y + t * out_row * inner;
      bool outside = false;
      for (int64_t a = int64_t(last) - 1, rest = t; a >= 0; --a) {
        o[a] = rest % g.out[a];
        rest /= g.out[a];
        outside = outside || g.axes[a].outside[o[a]];
      }
      if (outside) {
        std::fill(yr, yr + out_row * inner, ev);
        continue;
      }
      // Corners over the outer split axes, in the reference's order (bit j: j-th split axis).
      base.assign(1, 0);
      weight.assign(1, 1.f);
      for (size_t a = 0; a < last; ++a) {
        const ResizeAxis& ax = g.axes[a];
        const int64_t j = o[a];
        if (!split(g, ax, j)) {
          for (int64_t& b : base) b += ax.i0[j] * stride[a];
          continue;
        }
        const size_t n = base.size();
        for (size_t k = 0; k < n; ++k) {
          base.push_back(base[k] + ax.i1[j] * stride[a]);
          weight.push_back(weight[k] * ax.w[j]);
          base[k] += ax.i0[j] * stride[a];
          weight[k] *= 1.f - ax.w[j];
        }
      }
      const bool any_outer_split = base.size() > 1;
      for (int64_t j = 0; j < out_row; ++j) {
        T* yb = yr + j * inner;
        if (row_axis.outside[j]) {
          std::fill(yb, yb + inner, ev);
          continue;
        }
        const int64_t c0 = row_axis.i0[j] * inner, c1 = row_axis.i1[j] * inner;
        const bool row_split = split(g, row_axis, j);
        if (!any_outer_split && !row_split) {
          std::memcpy(yb, x + base[0] + c0, size_t(inner) * sizeof(T));
          continue;
        }
        std::fill(acc.begin(), acc.end(), 0.f);
        float* ac = acc.data();
        for (int half = 0; half < (row_split ? 2 : 1); ++half) {
          const int64_t cc = half ? c1 : c0;
          for (size_t k = 0; k < base.size(); ++k) {
            const float wk = !row_split ? weight[k]
                             : half     ? weight[k] * row_axis.w[j]
                                        : weight[k] * (1.f - row_axis.w[j]);
            const T* src = x + base[k] + cc;
            for (int64_t c = 0; c < inner; ++c) ac[c] += wk * float(src[c]);
          }
        }
        for (int64_t c = 0; c < inner; ++c) yb[c] = T(round_code(ac[c], p.type));
      }
    }
  });
}

}  // namespace

void qresize(const QResizeParams& p, const void* x, void* y, int threads) {
  if (p.type == DType::kU8)
    qresize_typed(p, static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), threads);
  else
    qresize_typed(p, static_cast<const int8_t*>(x), static_cast<int8_t*>(y), threads);
}

}  // namespace octet::kernels
