#include "kernels/pool.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/parallel.h"
#include "simd/reduce.h"

namespace octet::kernels {
namespace {

template <typename T>
T lowest() {
  if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}

// Taps k in [lo, hi) of output o along one dim that read inside [0, in).
struct TapRange {
  int64_t lo, hi;
};
TapRange valid_taps(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t o) {
  int64_t start = o * s - pb;
  int64_t lo = start >= 0 ? 0 : (-start + d - 1) / d;
  int64_t hi = in - 1 - start < 0 ? 0 : std::min(k, (in - 1 - start) / d + 1);
  return {lo, std::max(lo, hi)};
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t n = 1;
  for (int64_t x : v) n *= x;
  return n;
}

}  // namespace

int64_t pool_taps(const PoolParams& p, size_t dim, int64_t o, bool include_pad) {
  int64_t start = o * p.strides[dim] - p.pads_begin[dim];
  int64_t lo_bound = include_pad ? -p.pads_begin[dim] : 0;
  int64_t hi_bound = include_pad ? p.in[dim] + p.pads_end[dim] : p.in[dim];
  int64_t n = 0;
  for (int64_t k = 0; k < p.kernel[dim]; ++k) {
    int64_t pos = start + k * p.dilations[dim];
    if (pos >= lo_bound && pos < hi_bound) ++n;
  }
  return n;
}

template <typename T>
void pool_reference_nchw(const PoolParams& p, const T* x, T* y, int64_t* indices,
                         int storage_order) {
  const size_t rank = p.kernel.size();
  const int64_t in_plane = product(p.in), out_plane = product(p.out), taps = product(p.kernel);
  std::vector<int64_t> o(rank), k(rank);
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    const T* xp = x + plane * in_plane;
    for (int64_t oi = 0; oi < out_plane; ++oi) {
      for (int64_t r = static_cast<int64_t>(rank) - 1, rest = oi; r >= 0; --r) {
        o[r] = rest % p.out[r];
        rest /= p.out[r];
      }
      double sum = 0;
      T best = lowest<T>();
      int64_t best_at = -1, count = 0;
      for (int64_t ti = 0; ti < taps; ++ti) {
        int64_t flat = 0;
        bool inside = true;
        for (int64_t r = static_cast<int64_t>(rank) - 1, rest = ti; r >= 0; --r) {
          k[r] = rest % p.kernel[r];
          rest /= p.kernel[r];
        }
        for (size_t r = 0; r < rank; ++r) {
          int64_t pos = o[r] * p.strides[r] - p.pads_begin[r] + k[r] * p.dilations[r];
          if (pos < 0 || pos >= p.in[r]) inside = false;
          flat = flat * p.in[r] + pos;
        }
        if (!inside) continue;
        T v = xp[flat];
        ++count;
        sum += static_cast<double>(v);
        if (best_at < 0 || v > best) {
          best = v;
          best_at = flat;
        }
      }
      if (p.kind == PoolKind::kMax) {
        y[plane * out_plane + oi] = best;
        if (indices) {
          int64_t idx = best_at < 0 ? 0 : best_at;
          if (storage_order == 1 && rank == 2 && best_at >= 0)
            idx = (best_at % p.in[1]) * p.in[0] + best_at / p.in[1];
          indices[plane * out_plane + oi] = plane * in_plane + idx;
        }
      } else {
        int64_t div = count;
        if (p.count_include_pad) {
          div = 1;
          for (size_t r = 0; r < rank; ++r) div *= pool_taps(p, r, o[r], true);
        }
        y[plane * out_plane + oi] = div > 0 ? static_cast<T>(sum / static_cast<double>(div)) : T(0);
      }
    }
  }
}

template void pool_reference_nchw<float>(const PoolParams&, const float*, float*, int64_t*, int);
template void pool_reference_nchw<uint8_t>(const PoolParams&, const uint8_t*, uint8_t*, int64_t*,
                                           int);
template void pool_reference_nchw<int8_t>(const PoolParams&, const int8_t*, int8_t*, int64_t*, int);

void pool_nchw_f32(const PoolParams& p, const float* x, float* y, int threads) {
  const int64_t planes = p.batch * p.channels;
  const size_t rank = p.kernel.size();
  if (rank > 2) {  // 3D: the reference per plane, in parallel
    const int64_t in_plane = product(p.in), out_plane = product(p.out);
    PoolParams one = p;
    one.batch = 1;
    one.channels = 1;
    parallel_for(planes, threads, [&](int64_t pl, int) {
      pool_reference_nchw<float>(one, x + pl * in_plane, y + pl * out_plane, nullptr, 0);
    });
    return;
  }
  // 1D is 2D with a height of one.
  auto at = [&](const std::vector<int64_t>& v, int d, int64_t one) {
    return rank == 1 ? (d == 0 ? one : v[0]) : v[d];
  };
  const int64_t H = at(p.in, 0, 1), W = at(p.in, 1, 1);
  const int64_t OH = at(p.out, 0, 1), OW = at(p.out, 1, 1);
  const int64_t KH = at(p.kernel, 0, 1), KW = at(p.kernel, 1, 1);
  const int64_t SH = at(p.strides, 0, 1), SW = at(p.strides, 1, 1);
  const int64_t DH = at(p.dilations, 0, 1), DW = at(p.dilations, 1, 1);
  const int64_t PH = at(p.pads_begin, 0, 0), PW = at(p.pads_begin, 1, 0);
  const bool is_max = p.kind == PoolKind::kMax;
  // Per-output valid tap ranges and (avg) divisors, separable over the two dims.
  std::vector<TapRange> rh(OH), rw(OW);
  std::vector<float> inv_w(OW, 1.f), inv_h(OH, 1.f);
  for (int64_t o = 0; o < OH; ++o) rh[o] = valid_taps(H, KH, SH, DH, PH, o);
  for (int64_t o = 0; o < OW; ++o) rw[o] = valid_taps(W, KW, SW, DW, PW, o);
  if (!is_max) {
    for (int64_t o = 0; o < OW; ++o) {
      int64_t n = rank == 1 ? pool_taps(p, 0, o, p.count_include_pad)
                            : pool_taps(p, 1, o, p.count_include_pad);
      inv_w[o] = n > 0 ? 1.f / static_cast<float>(n) : 0.f;
    }
    if (rank == 2)
      for (int64_t o = 0; o < OH; ++o) {
        int64_t n = pool_taps(p, 0, o, p.count_include_pad);
        inv_h[o] = n > 0 ? 1.f / static_cast<float>(n) : 0.f;
      }
  }
  // For each kw: the output columns [lo, hi) whose tap kw reads inside the row.
  std::vector<TapRange> cols(KW);
  for (int64_t kw = 0; kw < KW; ++kw) {
    int64_t lo = 0;
    while (lo < OW && lo * SW - PW + kw * DW < 0) ++lo;
    int64_t hi = lo;
    while (hi < OW && hi * SW - PW + kw * DW < W) ++hi;
    cols[kw] = {lo, hi};
  }
  const float init = is_max ? lowest<float>() : 0.f;
  parallel_for(planes, threads, [&](int64_t pl, int) {
    const float* xp = x + pl * H * W;
    for (int64_t oh = 0; oh < OH; ++oh) {
      float* acc = y + (pl * OH + oh) * OW;
      std::fill(acc, acc + OW, init);
      for (int64_t kh = rh[oh].lo; kh < rh[oh].hi; ++kh) {
        const float* row = xp + (oh * SH - PH + kh * DH) * W;
        for (int64_t kw = 0; kw < KW; ++kw) {
          const int64_t lo = cols[kw].lo, hi = cols[kw].hi;
          if (lo >= hi) continue;
          const int64_t off = kw * DW - PW;
          if (SW == 1) {
            if (is_max) simd::max_into(acc + lo, row + lo + off, static_cast<size_t>(hi - lo));
            else simd::add_into(acc + lo, row + lo + off, static_cast<size_t>(hi - lo));
          } else if (is_max) {
            for (int64_t ow = lo; ow < hi; ++ow) acc[ow] = std::max(acc[ow], row[ow * SW + off]);
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) acc[ow] += row[ow * SW + off];
          }
        }
      }
      if (!is_max) {
        const float ih = inv_h[oh];
        for (int64_t ow = 0; ow < OW; ++ow) acc[ow] *= ih * inv_w[ow];
      }
    }
  });
}

template <typename T>
void pool_reference_nhwc(const PoolParams& p, const T* x, T* y) {
  const int64_t H = p.in[0], W = p.in[1], C = p.channels, OH = p.out[0], OW = p.out[1];
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          double sum = 0;
          T best = lowest<T>();
          int64_t count = 0;
          for (int64_t kh = 0; kh < p.kernel[0]; ++kh)
            for (int64_t kw = 0; kw < p.kernel[1]; ++kw) {
              int64_t ih = oh * p.strides[0] - p.pads_begin[0] + kh * p.dilations[0];
              int64_t iw = ow * p.strides[1] - p.pads_begin[1] + kw * p.dilations[1];
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              T v = x[((n * H + ih) * W + iw) * C + c];
              best = count == 0 || v > best ? v : best;
              sum += static_cast<double>(v);
              ++count;
            }
          T& out = y[((n * OH + oh) * OW + ow) * C + c];
          if (p.kind == PoolKind::kMax) {
            out = best;
          } else {
            int64_t div = p.count_include_pad
                              ? pool_taps(p, 0, oh, true) * pool_taps(p, 1, ow, true)
                              : count;
            out = div > 0 ? static_cast<T>(sum / static_cast<double>(div)) : T(0);
          }
        }
}

template void pool_reference_nhwc<float>(const PoolParams&, const float*, float*);
template void pool_reference_nhwc<uint8_t>(const PoolParams&, const uint8_t*, uint8_t*);
template void pool_reference_nhwc<int8_t>(const PoolParams&, const int8_t*, int8_t*);

void pool_nhwc_f32(const PoolParams& p, const float* x, float* y, int threads) {
  const int64_t H = p.in[0], W = p.in[1], C = p.channels, OH = p.out[0], OW = p.out[1];
  const bool is_max = p.kind == PoolKind::kMax;
  std::vector<TapRange> rh(OH), rw(OW);
  std::vector<float> inv(OH * OW, 1.f);
  for (int64_t o = 0; o < OH; ++o)
    rh[o] = valid_taps(H, p.kernel[0], p.strides[0], p.dilations[0], p.pads_begin[0], o);
  for (int64_t o = 0; o < OW; ++o)
    rw[o] = valid_taps(W, p.kernel[1], p.strides[1], p.dilations[1], p.pads_begin[1], o);
  if (!is_max)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t n = p.count_include_pad
                        ? pool_taps(p, 0, oh, true) * pool_taps(p, 1, ow, true)
                        : (rh[oh].hi - rh[oh].lo) * (rw[ow].hi - rw[ow].lo);
        inv[oh * OW + ow] = n > 0 ? 1.f / static_cast<float>(n) : 0.f;
      }
  const size_t c = static_cast<size_t>(C);
  const int64_t total = p.batch * OH * OW;
  parallel_for(total, threads, [&](int64_t t, int) {
    const int64_t ow = t % OW, oh = (t / OW) % OH, n = t / (OW * OH);
    float* out = y + t * C;
    const TapRange a = rh[oh], b = rw[ow];
    bool first = true;
    for (int64_t kh = a.lo; kh < a.hi; ++kh) {
      const int64_t ih = oh * p.strides[0] - p.pads_begin[0] + kh * p.dilations[0];
      for (int64_t kw = b.lo; kw < b.hi; ++kw) {
        const int64_t iw = ow * p.strides[1] - p.pads_begin[1] + kw * p.dilations[1];
        const float* src = x + ((n * H + ih) * W + iw) * C;
        if (first) std::memcpy(out, src, c * sizeof(float));
        else if (is_max) simd::max_into(out, src, c);
        else simd::add_into(out, src, c);
        first = false;
      }
    }
    if (first) std::fill(out, out + C, is_max ? lowest<float>() : 0.f);
    else if (!is_max) simd::scale(out, out, c, inv[oh * OW + ow]);
  });
}

template <typename T>
void pool_max_int(const PoolParams& p, bool nhwc, const T* x, T* y, int threads) {
  if (!nhwc) {
    const int64_t in_plane = product(p.in), out_plane = product(p.out);
    PoolParams one = p;
    one.batch = 1;
    one.channels = 1;
    parallel_for(p.batch * p.channels, threads, [&](int64_t pl, int) {
      pool_reference_nchw<T>(one, x + pl * in_plane, y + pl * out_plane, nullptr, 0);
    });
    return;
  }
  const int64_t H = p.in[0], W = p.in[1], C = p.channels, OH = p.out[0], OW = p.out[1];
  const int64_t total = p.batch * OH * OW;
  parallel_for(total, threads, [&](int64_t t, int) {
    const int64_t ow = t % OW, oh = (t / OW) % OH, n = t / (OW * OH);
    T* out = y + t * C;
    const TapRange a = valid_taps(H, p.kernel[0], p.strides[0], p.dilations[0], p.pads_begin[0], oh);
    const TapRange b = valid_taps(W, p.kernel[1], p.strides[1], p.dilations[1], p.pads_begin[1], ow);
    std::fill(out, out + C, lowest<T>());
    for (int64_t kh = a.lo; kh < a.hi; ++kh) {
      const int64_t ih = oh * p.strides[0] - p.pads_begin[0] + kh * p.dilations[0];
      for (int64_t kw = b.lo; kw < b.hi; ++kw) {
        const int64_t iw = ow * p.strides[1] - p.pads_begin[1] + kw * p.dilations[1];
        const T* src = x + ((n * H + ih) * W + iw) * C;
        for (int64_t c = 0; c < C; ++c) out[c] = src[c] > out[c] ? src[c] : out[c];
      }
    }
  });
}

template void pool_max_int<uint8_t>(const PoolParams&, bool, const uint8_t*, uint8_t*, int);
template void pool_max_int<int8_t>(const PoolParams&, bool, const int8_t*, int8_t*, int);

}  // namespace octet::kernels
