#include "kernels/resize.h"

#include <algorithm>
#include <cstring>

#include "base/dims.h"
#include "kernels/parallel.h"

namespace octet::kernels {

bool ResizeAxis::identity(int64_t in) const {
  if (static_cast<int64_t>(i0.size()) != in) return false;
  for (size_t j = 0; j < i0.size(); ++j)
    if (i0[j] != static_cast<int64_t>(j) || (w[j] != 0.f && i1[j] != i0[j]) || outside[j])
      return false;
  return true;
}

void resize_reference(const ResizeParams& p, const float* x, float* y) {
  if (checked_numel(p.out) == 0) return;  // no source tables are built for an empty output
  const size_t r = p.in.size();
  std::vector<int64_t> stride(r, 1);
  for (size_t a = r - 1; a-- > 0;) stride[a] = stride[a + 1] * p.in[a + 1];
  int64_t total = checked_numel(p.out);
  std::vector<int64_t> o(r, 0);
  const int64_t corners = p.linear ? (int64_t(1) << r) : 1;
  for (int64_t i = 0; i < total; ++i) {
    bool outside = false;
    for (size_t a = 0; a < r; ++a) outside = outside || p.axes[a].outside[o[a]];
    float v = p.extrapolation_value;
    if (!outside) {
      double acc = 0;
      for (int64_t c = 0; c < corners; ++c) {
        double wt = 1;
        int64_t off = 0;
        for (size_t a = 0; a < r; ++a) {
          const ResizeAxis& ax = p.axes[a];
          const bool hi = p.linear && ((c >> a) & 1);
          if (p.linear) wt *= hi ? ax.w[o[a]] : 1.0 - ax.w[o[a]];
          off += (hi ? ax.i1[o[a]] : ax.i0[o[a]]) * stride[a];
        }
        if (wt != 0) acc += wt * x[off];
      }
      v = static_cast<float>(acc);
    }
    y[i] = v;
    for (size_t a = r; a-- > 0;) {
      if (++o[a] < p.out[a]) break;
      o[a] = 0;
    }
  }
}

void resize_f32(const ResizeParams& p, const float* x, float* y, int threads) {
  if (checked_numel(p.out) == 0) return;  // no source tables are built for an empty output
  // Trailing axes that are plain copies form contiguous blocks of `inner` values.
  size_t rr = p.in.size();
  int64_t inner = 1;
  while (rr > 0 && p.axes[rr - 1].identity(p.in[rr - 1])) inner *= p.in[--rr];
  if (rr == 0) {
    std::memcpy(y, x, static_cast<size_t>(inner) * sizeof(float));
    return;
  }
  const size_t last = rr - 1;  // the row axis
  std::vector<int64_t> stride(rr, inner);
  for (size_t a = last; a-- > 0;) stride[a] = stride[a + 1] * p.in[a + 1];
  int64_t outer = 1;
  for (size_t a = 0; a < last; ++a) outer *= p.out[a];
  const ResizeAxis& row_axis = p.axes[last];
  const int64_t out_row = p.out[last];
  const float ev = p.extrapolation_value;
  parallel_region(threads, [&] {
    std::vector<int64_t> base;
    std::vector<float> weight;
    std::vector<int64_t> o(last);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < outer; ++t) {
      float* yr = y + t * out_row * inner;
      bool outside = false;
      for (int64_t a = static_cast<int64_t>(last) - 1, rest = t; a >= 0; --a) {
        o[a] = rest % p.out[a];
        rest /= p.out[a];
        outside = outside || p.axes[a].outside[o[a]];
      }
      if (outside) {
        std::fill(yr, yr + out_row * inner, ev);
        continue;
      }
      // Corner rows over the outer axes with their weights.
      base.assign(1, 0);
      weight.assign(1, 1.f);
      for (size_t a = 0; a < last; ++a) {
        const ResizeAxis& ax = p.axes[a];
        const int64_t j = o[a];
        if (!p.linear || ax.w[j] == 0.f || ax.i1[j] == ax.i0[j]) {
          for (int64_t& b : base) b += ax.i0[j] * stride[a];
        } else {
          const size_t n = base.size();
          for (size_t k = 0; k < n; ++k) {
            base.push_back(base[k] + ax.i1[j] * stride[a]);
            weight.push_back(weight[k] * ax.w[j]);
            base[k] += ax.i0[j] * stride[a];
            weight[k] *= 1.f - ax.w[j];
          }
        }
      }
      for (int64_t j = 0; j < out_row; ++j) {
        float* yb = yr + j * inner;
        if (row_axis.outside[j]) {
          std::fill(yb, yb + inner, ev);
          continue;
        }
        const int64_t c0 = row_axis.i0[j] * inner, c1 = row_axis.i1[j] * inner;
        if (!p.linear) {
          const float* src = x + base[0] + c0;
          for (int64_t c = 0; c < inner; ++c) yb[c] = src[c];
          continue;
        }
        const float w1 = row_axis.w[j], w0 = 1.f - w1;
        std::fill(yb, yb + inner, 0.f);
        for (size_t k = 0; k < base.size(); ++k) {
          const float* s0 = x + base[k] + c0;
          const float* s1 = x + base[k] + c1;
          const float a0 = weight[k] * w0, a1 = weight[k] * w1;
          for (int64_t c = 0; c < inner; ++c) yb[c] += a0 * s0[c] + a1 * s1[c];
        }
      }
    }
  });
}

}  // namespace octet::kernels
