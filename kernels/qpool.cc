#include "kernels/qpool.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "base/error.h"
#include "kernels/parallel.h"
#include "kernels/qcodes.h"
#include "simd/q_eltwise.h"

namespace octet::kernels {
namespace {

int64_t product(const std::vector<int64_t>& v) {
  int64_t n = 1;
  for (int64_t x : v) n *= x;
  return n;
}

int32_t finish(const QAvgPoolParams& p, int32_t acc, int64_t pos) {
  if (p.counts[pos] == 0) return clamp_code(p.zy, p.qmin, p.qmax);
  return requantize_one(p.scheme, acc, p.mult[pos], p.zy, p.qmin, p.qmax);
}

// Taps [lo, hi) of output o along one dim that read inside [0, in).
void tap_range(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t o, int64_t* lo,
               int64_t* hi) {
  const int64_t start = o * s - pb;
  *lo = start >= 0 ? 0 : (-start + d - 1) / d;
  *hi = in - 1 - start < 0 ? 0 : std::min(k, (in - 1 - start) / d + 1);
  *hi = std::max(*lo, *hi);
}

// One NCHW plane, any rank: the plain loop.
void plane_nd(const QAvgPoolParams& p, const void* x, int64_t x0, void* y, int64_t y0) {
  const PoolParams& g = p.geo;
  const size_t rank = g.kernel.size();
  const int64_t out_plane = product(g.out), taps = product(g.kernel);
  std::vector<int64_t> o(rank), k(rank);
  for (int64_t oi = 0; oi < out_plane; ++oi) {
    for (int64_t r = int64_t(rank) - 1, rest = oi; r >= 0; --r) {
      o[r] = rest % g.out[r];
      rest /= g.out[r];
    }
    int32_t acc = 0;
    for (int64_t ti = 0; ti < taps; ++ti) {
      for (int64_t r = int64_t(rank) - 1, rest = ti; r >= 0; --r) {
        k[r] = rest % g.kernel[r];
        rest /= g.kernel[r];
      }
      int64_t flat = 0;
      bool inside = true;
      for (size_t r = 0; r < rank; ++r) {
        const int64_t pos = o[r] * g.strides[r] - g.pads_begin[r] + k[r] * g.dilations[r];
        if (pos < 0 || pos >= g.in[r]) inside = false;
        flat = flat * g.in[r] + pos;
      }
      if (inside) acc += load_code(x, p.x_type, x0 + flat) - p.zx;
    }
    store_code(y, p.y_type, y0 + oi, finish(p, acc, oi));
  }
}

}  // namespace

void set_qavgpool_scales(QAvgPoolParams& p, float sx, float sy) {
  OCTET_CHECK(std::isfinite(sx) && sx > 0.f && std::isfinite(sy) && sy > 0.f,
              "scales must be finite and positive, got ", sx, ", ", sy);
  const PoolParams& g = p.geo;
  const size_t rank = g.kernel.size();
  OCTET_CHECK(product(g.kernel) <= kQPoolMaxTaps, "pooling window has more than 2^23 taps");
  const int64_t out_plane = product(g.out);
  p.counts.assign(size_t(out_plane), 0);
  p.mult.assign(size_t(out_plane), ChannelMultiplier{});
  std::map<int64_t, ChannelMultiplier> by_count;
  std::vector<int64_t> o(rank);
  for (int64_t oi = 0; oi < out_plane; ++oi) {
    for (int64_t r = int64_t(rank) - 1, rest = oi; r >= 0; --r) {
      o[r] = rest % g.out[r];
      rest /= g.out[r];
    }
    int64_t count = 1;
    for (size_t r = 0; r < rank; ++r) count *= pool_taps(g, r, o[r], g.count_include_pad);
    p.counts[oi] = int32_t(count);
    if (count == 0) continue;
    auto it = by_count.find(count);
    if (it == by_count.end())
      it = by_count
               .emplace(count, make_multiplier_from_real(
                                   p.scheme, double(sx) / (double(count) * double(sy))))
               .first;
    p.mult[oi] = it->second;
  }
}

void qavgpool_reference(const QAvgPoolParams& p, const void* x, void* y) {
  const PoolParams& g = p.geo;
  if (!p.nhwc) {
    const int64_t in_plane = product(g.in), out_plane = product(g.out);
    for (int64_t pl = 0; pl < g.batch * g.channels; ++pl)
      plane_nd(p, x, pl * in_plane, y, pl * out_plane);
    return;
  }
  const int64_t H = g.in[0], W = g.in[1], C = g.channels, OH = g.out[0], OW = g.out[1];
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          int32_t acc = 0;
          for (int64_t kh = 0; kh < g.kernel[0]; ++kh)
            for (int64_t kw = 0; kw < g.kernel[1]; ++kw) {
              const int64_t ih = oh * g.strides[0] - g.pads_begin[0] + kh * g.dilations[0];
              const int64_t iw = ow * g.strides[1] - g.pads_begin[1] + kw * g.dilations[1];
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              acc += load_code(x, p.x_type, ((n * H + ih) * W + iw) * C + c) - p.zx;
            }
          store_code(y, p.y_type, ((n * OH + oh) * OW + ow) * C + c, finish(p, acc, oh * OW + ow));
        }
}

namespace {

// Channels-last: one output pixel, all channels; sums of raw codes, then - taps * zx.
template <typename TX>
void pixel_nhwc(const QAvgPoolParams& p, const TX* x, void* y, int64_t t, int32_t* acc) {
  const PoolParams& g = p.geo;
  const int64_t H = g.in[0], W = g.in[1], C = g.channels, OH = g.out[0], OW = g.out[1];
  const int64_t ow = t % OW, oh = (t / OW) % OH, n = t / (OW * OH);
  int64_t h0, h1, w0, w1;
  tap_range(H, g.kernel[0], g.strides[0], g.dilations[0], g.pads_begin[0], oh, &h0, &h1);
  tap_range(W, g.kernel[1], g.strides[1], g.dilations[1], g.pads_begin[1], ow, &w0, &w1);
  std::fill(acc, acc + C, 0);
  for (int64_t kh = h0; kh < h1; ++kh) {
    const int64_t ih = oh * g.strides[0] - g.pads_begin[0] + kh * g.dilations[0];
    for (int64_t kw = w0; kw < w1; ++kw) {
      const int64_t iw = ow * g.strides[1] - g.pads_begin[1] + kw * g.dilations[1];
      const TX* src = x + ((n * H + ih) * W + iw) * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += src[c];
    }
  }
  const int32_t off = int32_t((h1 - h0) * (w1 - w0)) * p.zx;
  for (int64_t c = 0; c < C; ++c) acc[c] -= off;
  const int64_t pos = oh * OW + ow;
  auto* out = static_cast<uint8_t*>(y) + t * C;
  if (p.counts[pos] != 0 && p.scheme == RequantScheme::kFp32) {
    simd::q_acc_fp32(acc, out, qcode_of(p.y_type), size_t(C), p.mult[pos].multiplier,
                     float(p.qmin - p.zy), float(p.qmax - p.zy), float(p.zy));
  } else {
    for (int64_t c = 0; c < C; ++c) store_code(out, p.y_type, c, finish(p, acc[c], pos));
  }
}

// NCHW with 1 or 2 spatial dims (1-D as a height of one): direct tap ranges per output.
template <typename TX>
void plane_2d(const QAvgPoolParams& p, const TX* x, void* y, int64_t y0) {
  const PoolParams& g = p.geo;
  const bool one = g.kernel.size() == 1;
  auto at = [&](const std::vector<int64_t>& v, int d, int64_t dflt) {
    return one ? (d == 0 ? dflt : v[0]) : v[d];
  };
  const int64_t H = at(g.in, 0, 1), W = at(g.in, 1, 1), OH = at(g.out, 0, 1),
                OW = at(g.out, 1, 1);
  const int64_t KH = at(g.kernel, 0, 1), KW = at(g.kernel, 1, 1), SH = at(g.strides, 0, 1),
                SW = at(g.strides, 1, 1), DH = at(g.dilations, 0, 1), DW = at(g.dilations, 1, 1),
                PH = at(g.pads_begin, 0, 0), PW = at(g.pads_begin, 1, 0);
  for (int64_t oh = 0; oh < OH; ++oh) {
    int64_t h0, h1;
    tap_range(H, KH, SH, DH, PH, oh, &h0, &h1);
    for (int64_t ow = 0; ow < OW; ++ow) {
      int64_t w0, w1;
      tap_range(W, KW, SW, DW, PW, ow, &w0, &w1);
      int32_t acc = 0;
      for (int64_t kh = h0; kh < h1; ++kh) {
        const int64_t row = (oh * SH - PH + kh * DH) * W + ow * SW - PW;
        for (int64_t kw = w0; kw < w1; ++kw) acc += x[row + kw * DW];
      }
      acc -= int32_t((h1 - h0) * (w1 - w0)) * p.zx;
      store_code(y, p.y_type, y0 + oh * OW + ow, finish(p, acc, oh * OW + ow));
    }
  }
}

template <typename TX>
void qavgpool_typed(const QAvgPoolParams& p, const TX* x, void* y, int threads) {
  const PoolParams& g = p.geo;
  if (p.nhwc) {
    const int64_t total = g.batch * g.out[0] * g.out[1];
    parallel_region(threads, [&] {
      std::vector<int32_t> acc(size_t(g.channels));
#pragma omp for schedule(static)
      for (int64_t t = 0; t < total; ++t) pixel_nhwc(p, x, y, t, acc.data());
    });
    return;
  }
  const int64_t planes = g.batch * g.channels, in_plane = product(g.in),
                out_plane = product(g.out);
  parallel_for(planes, threads, [&](int64_t pl, int) {
    if (g.kernel.size() <= 2) plane_2d(p, x + pl * in_plane, y, pl * out_plane);
    else plane_nd(p, x, pl * in_plane, y, pl * out_plane);
  });
}

}  // namespace

void qavgpool(const QAvgPoolParams& p, const void* x, void* y, int threads) {
  if (p.x_type == DType::kU8) qavgpool_typed(p, static_cast<const uint8_t*>(x), y, threads);
  else qavgpool_typed(p, static_cast<const int8_t*>(x), y, threads);
}

}  // namespace octet::kernels
