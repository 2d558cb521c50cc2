#include "kernels/conv_transpose.h"

#include <algorithm>
#include <cstring>

#include "kernels/conv.h"
#include "kernels/parallel.h"

namespace octet::kernels {

void conv_transpose2d_reference(const ConvTransposeParams& p, const float* x, const float* w,
                                const float* bias, float* y, bool nhwc) {
  const int64_t Cg = p.C / p.group, Mg = p.M / p.group;
  auto xi = [&](int64_t n, int64_t c, int64_t h, int64_t ww) {
    return nhwc ? ((n * p.H + h) * p.W + ww) * p.C + c : ((n * p.C + c) * p.H + h) * p.W + ww;
  };
  auto yi = [&](int64_t n, int64_t m, int64_t h, int64_t ww) {
    return nhwc ? ((n * p.OH + h) * p.OW + ww) * p.M + m : ((n * p.M + m) * p.OH + h) * p.OW + ww;
  };
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) y[yi(n, m, oh, ow)] = bias ? bias[m] : 0.f;
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t c = 0; c < p.C; ++c) {
      const int64_t g = c / Cg;
      for (int64_t ih = 0; ih < p.H; ++ih)
        for (int64_t iw = 0; iw < p.W; ++iw) {
          const float v = x[xi(n, c, ih, iw)];
          for (int64_t m = 0; m < Mg; ++m)
            for (int64_t kh = 0; kh < p.KH; ++kh) {
              const int64_t oh = ih * p.sh - p.pt + kh * p.dh;
              if (oh < 0 || oh >= p.OH) continue;
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                const int64_t ow = iw * p.sw - p.pl + kw * p.dw;
                if (ow < 0 || ow >= p.OW) continue;
                y[yi(n, g * Mg + m, oh, ow)] += v * w[((c * Mg + m) * p.KH + kh) * p.KW + kw];
              }
            }
        }
    }
  const int64_t total = p.N * p.M * p.OH * p.OW;
  for (int64_t i = 0; i < total; ++i) y[i] = std::min(std::max(y[i], p.lo), p.hi);
}

ConvTranspose2dNhwc::ConvTranspose2dNhwc(const ConvTransposeParams& p, const float* w,
                                         const float* bias, int threads)
    : p_(p), threads_(std::max(1, threads)) {
  Cg_ = p.C / p.group;
  Mg_ = p.M / p.group;
  const int64_t KK = p.KH * p.KW, cols = KK * Mg_;
  packed_.resize(static_cast<size_t>(p.group));
  std::vector<float> tmp(static_cast<size_t>(Cg_ * cols));
  for (int64_t g = 0; g < p.group; ++g) {
    // B(c, (k*Mg + m)) = w[g*Cg + c][m][k]
    for (int64_t c = 0; c < Cg_; ++c)
      for (int64_t m = 0; m < Mg_; ++m)
        for (int64_t k = 0; k < KK; ++k)
          tmp[c * cols + k * Mg_ + m] = w[((g * Cg_ + c) * Mg_ + m) * KK + k];
    packed_[g].pack(tmp.data(), Cg_, cols, cols, 1);
  }
  bias_.assign(static_cast<size_t>(p.M), 0.f);
  if (bias) std::copy(bias, bias + p.M, bias_.begin());
}

void ConvTranspose2dNhwc::run_nchw(const float* x, float* y) {
  const size_t xn = static_cast<size_t>(p_.N * p_.C * p_.H * p_.W);
  const size_t yn = static_cast<size_t>(p_.N * p_.M * p_.OH * p_.OW);
  if (xt_.size() < xn) xt_.resize(xn);
  if (yt_.size() < yn) yt_.resize(yn);
  nchw_to_nhwc(x, xt_.data(), p_.N, p_.C, p_.H * p_.W, threads_);
  run_nhwc(xt_.data(), yt_.data());
  nhwc_to_nchw(yt_.data(), y, p_.N, p_.M, p_.OH * p_.OW, threads_);
}

void ConvTranspose2dNhwc::run_nhwc(const float* x, float* y) {
  const ConvTransposeParams& p = p_;
  const int64_t KK = p.KH * p.KW, ncols = KK * Mg_, HW = p.H * p.W;
  const size_t need = static_cast<size_t>(HW * ncols);
  if (cols_.size() < need) cols_.resize(need);
  for (int64_t n = 0; n < p.N; ++n) {
    const float* xn = x + n * HW * p.C;
    float* yn = y + n * p.OH * p.OW * p.M;
    for (int64_t g = 0; g < p.group; ++g) {
      gemm_packed(static_cast<size_t>(HW), xn + g * Cg_, static_cast<size_t>(p.C), packed_[g],
                  cols_.data(), static_cast<size_t>(ncols), nullptr, -__builtin_inff(),
                  __builtin_inff(), threads_);
      // Gather: every output pixel sums the column entries that land on it.
      parallel_for(p.OH, (threads_ > 1) ? threads_ : 1, [&](int64_t oh, int) {
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          float* out = yn + (oh * p.OW + ow) * p.M + g * Mg_;
          for (int64_t m = 0; m < Mg_; ++m) out[m] = bias_[g * Mg_ + m];
          for (int64_t kh = 0; kh < p.KH; ++kh) {
            const int64_t th = oh + p.pt - kh * p.dh;
            if (th < 0 || th % p.sh) continue;
            const int64_t ih = th / p.sh;
            if (ih >= p.H) continue;
            for (int64_t kw = 0; kw < p.KW; ++kw) {
              const int64_t tw = ow + p.pl - kw * p.dw;
              if (tw < 0 || tw % p.sw) continue;
              const int64_t iw = tw / p.sw;
              if (iw >= p.W) continue;
              const float* src = cols_.data() + (ih * p.W + iw) * ncols + (kh * p.KW + kw) * Mg_;
              for (int64_t m = 0; m < Mg_; ++m) out[m] += src[m];
            }
          }
          for (int64_t m = 0; m < Mg_; ++m) out[m] = std::min(std::max(out[m], p.lo), p.hi);
        }
      });
    }
  }
}

}  // namespace octet::kernels
