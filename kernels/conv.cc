#include "kernels/conv.h"

#include <algorithm>
#include <cstring>

#include "kernels/parallel.h"
#include "simd/dwconv_f32.h"
#include "simd/im2col_f32.h"
#include "simd/gemm_f32.h"

namespace octet::kernels {

void conv2d_reference(const ConvParams& p, const float* x, const float* w, const float* bias,
                      float* y, bool nhwc) {
  const int64_t Cg = p.C / p.group, Mg = p.M / p.group;
  auto xi = [&](int64_t n, int64_t c, int64_t h, int64_t ww) {
    return nhwc ? ((n * p.H + h) * p.W + ww) * p.C + c : ((n * p.C + c) * p.H + h) * p.W + ww;
  };
  auto yi = [&](int64_t n, int64_t m, int64_t h, int64_t ww) {
    return nhwc ? ((n * p.OH + h) * p.OW + ww) * p.M + m : ((n * p.M + m) * p.OH + h) * p.OW + ww;
  };
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t m = 0; m < p.M; ++m) {
      const int64_t g = m / Mg;
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          float s = bias ? bias[m] : 0.f;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh) {
              const int64_t ih = oh * p.sh - p.pt + kh * p.dh;
              if (ih < 0 || ih >= p.H) continue;
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                const int64_t iw = ow * p.sw - p.pl + kw * p.dw;
                if (iw < 0 || iw >= p.W) continue;
                s += x[xi(n, g * Cg + c, ih, iw)] * w[((m * Cg + c) * p.KH + kh) * p.KW + kw];
              }
            }
          y[yi(n, m, oh, ow)] = std::min(std::max(s, p.lo), p.hi);
        }
    }
}

namespace {
constexpr int64_t kBlk = 32;
void transpose_batched(const float* x, float* y, int64_t N, int64_t R, int64_t Cc, int threads) {
  // Split the rows of each image into strips so that both threads work on batch 1.
  const int64_t strips = std::max<int64_t>(1, std::min<int64_t>(threads * 2, R / kBlk));
  const int64_t per = (R + strips - 1) / strips;
  const long items = static_cast<long>(N * strips);
  parallel_for(items, (threads > 1 && R * Cc * N > 16384) ? threads : 1, [&](int64_t it, int) {
    const int64_t n = it / strips, s = it % strips;
    const int64_t r0 = s * per, r1 = std::min(R, r0 + per);
    if (r0 >= r1) return;
    const float* xs = x + n * R * Cc;
    float* ys = y + n * R * Cc;
    for (int64_t rb = r0; rb < r1; rb += kBlk)
      for (int64_t c0 = 0; c0 < Cc; c0 += kBlk) {
        const int64_t re = std::min(r1, rb + kBlk), c1 = std::min(Cc, c0 + kBlk);
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t r = rb; r < re; ++r) ys[c * R + r] = xs[r * Cc + c];
      }
  });
}
}  // namespace

void nchw_to_nhwc(const float* x, float* y, int64_t N, int64_t C, int64_t S, int threads) {
  // Per image, x is C x S and y is S x C: y[s*C + c] = x[c*S + s].
  transpose_batched(x, y, N, C, S, threads);
}
void nhwc_to_nchw(const float* x, float* y, int64_t N, int64_t C, int64_t S, int threads) {
  transpose_batched(x, y, N, S, C, threads);
}

Conv2dNhwc::Conv2dNhwc(const ConvParams& p, const float* w, const float* bias, int threads)
    : p_(p), threads_(std::max(1, threads)) {
  Cg_ = p.C / p.group;
  Mg_ = p.M / p.group;
  K_ = p.KH * p.KW * Cg_;
  if (Cg_ == 1 && Mg_ == 1 && p.group > 1) {
    kind_ = Kind::kDepthwise;
    dw_weights_.resize(static_cast<size_t>(p.KH * p.KW * p.C));
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t k = 0; k < p.KH * p.KW; ++k) dw_weights_[k * p.C + c] = w[c * p.KH * p.KW + k];
    if (bias) dw_bias_.assign(bias, bias + p.M);
    return;
  }
  kind_ = (p.KH == 1 && p.KW == 1 && p.sh == 1 && p.sw == 1 && p.pt == 0 && p.pl == 0 &&
           p.OH == p.H && p.OW == p.W)
              ? Kind::kPointwise
              : Kind::kTiled;
  // B for group g: (K x Mg), k = (kh*KW + kw)*Cg + c.
  std::vector<float> tmp(static_cast<size_t>(K_ * Mg_));
  packed_.resize(static_cast<size_t>(p.group));
  bias_.resize(static_cast<size_t>(p.group));
  for (int64_t g = 0; g < p.group; ++g) {
    for (int64_t m = 0; m < Mg_; ++m)
      for (int64_t c = 0; c < Cg_; ++c)
        for (int64_t k = 0; k < p.KH * p.KW; ++k)
          tmp[(k * Cg_ + c) * Mg_ + m] = w[(((g * Mg_ + m) * Cg_) + c) * p.KH * p.KW + k];
    packed_[g].pack(tmp.data(), K_, Mg_, Mg_, 1);
    bias_[g] = pad_bias(bias ? bias + g * Mg_ : nullptr, Mg_);
  }
  if (kind_ == Kind::kTiled) {
    // Tile of output pixels whose im2col rows (K floats each) fit in ~96 KB.
    // Output pixels per im2col tile: enough rows that each packed B sliver (K block x 32
    // columns) is reused across many rows; the GEMM blocks the tile for L1/L2 itself.
    tile_rows_ = K_ <= 64 ? 240 : K_ <= 1024 ? 96 : 192;
    col_.resize(static_cast<size_t>(tile_rows_ * K_ * threads_));
  }
}

std::string_view Conv2dNhwc::impl_name() const {
  switch (kind_) {
    case Kind::kPointwise: return "conv_nhwc_f32_pointwise_gemm";
    case Kind::kDepthwise: return "conv_nhwc_f32_depthwise";
    default: return "conv_nhwc_f32_implicit_gemm";
  }
}

void Conv2dNhwc::run_nchw(const float* x, float* y) {
  const size_t xn = static_cast<size_t>(p_.N * p_.C * p_.H * p_.W);
  const size_t yn = static_cast<size_t>(p_.N * p_.M * p_.OH * p_.OW);
  if (xt_.size() < xn) xt_.resize(xn);
  if (yt_.size() < yn) yt_.resize(yn);
  nchw_to_nhwc(x, xt_.data(), p_.N, p_.C, p_.H * p_.W, threads_);
  run_nhwc(xt_.data(), yt_.data());
  nhwc_to_nchw(yt_.data(), y, p_.N, p_.M, p_.OH * p_.OW, threads_);
}

void Conv2dNhwc::run_nhwc(const float* x, float* y) {
  const ConvParams& p = p_;
  const int threads = threads_;
  if (kind_ == Kind::kDepthwise) {
    simd::DwConvShape s{p.H, p.W, p.C, p.KH, p.KW, p.sh, p.sw, p.dh, p.dw,
                        p.pt, p.pl, p.OH, p.OW, p.lo, p.hi};
    const float* b = dw_bias_.empty() ? nullptr : dw_bias_.data();
    // Work items: strips of output rows of each image.
    const int64_t strips = std::min<int64_t>(p.OH, std::max<int64_t>(1, threads * 4));
    const int64_t per = (p.OH + strips - 1) / strips;
    const long items = static_cast<long>(p.N * strips);
    parallel_for(items, threads, [&](int64_t it, int) {
      const int64_t n = it / strips, st = it % strips;
      const int64_t r0 = st * per, r1 = std::min(p.OH, r0 + per);
      if (r0 < r1)
        simd::dwconv_nhwc_f32(x + n * p.H * p.W * p.C, dw_weights_.data(), b,
                              y + n * p.OH * p.OW * p.C, s, r0, r1);
    });
    return;
  }
  if (kind_ == Kind::kPointwise) {
    const size_t rows = static_cast<size_t>(p.N * p.H * p.W);
    for (int64_t g = 0; g < p.group; ++g)
      gemm_packed(rows, x + g * Cg_, static_cast<size_t>(p.C), packed_[g], y + g * Mg_,
                  static_cast<size_t>(p.M), bias_[g].data(), p.lo, p.hi, threads);
    return;
  }
  // Implicit GEMM: im2col a tile of output pixels per group, multiply by the packed weights.
  const int64_t total = p.N * p.OH * p.OW;
  // Equal tiles of at most tile_rows_ rows (multiples of 8), a multiple of the thread count.
  int64_t tiles = (total + tile_rows_ - 1) / tile_rows_;
  if (threads > 1 && total >= 8 * threads) tiles = (tiles + threads - 1) / threads * threads;
  const int64_t T = std::min(tile_rows_, ((total + tiles - 1) / tiles + 7) / 8 * 8);
  tiles = (total + T - 1) / T;
  const size_t panels = (static_cast<size_t>(Mg_) + simd::kGemmNR - 1) / simd::kGemmNR;
  const size_t pchunks = panel_chunks(static_cast<size_t>(tiles * p.group), panels, threads);
  const size_t panels_per = (panels + pchunks - 1) / pchunks;
  const long items = static_cast<long>(tiles * p.group * static_cast<int64_t>(pchunks));
  const simd::Im2colShape ishape{p.N, p.H, p.W, p.C, p.OH, p.OW, p.KH, p.KW,
                                 p.sh, p.sw, p.dh, p.dw, p.pt, p.pl, Cg_};
  parallel_for(items, threads, [&](int64_t it, int tid) {
    // Panel chunk is the slow index: a static split gives each thread whole column ranges.
    const int64_t tg = tiles * p.group;
    const int64_t pc = it / tg;
    const int64_t g = (it % tg) % p.group;
    const int64_t t = (it % tg) / p.group;
    const int64_t r0 = t * T, r1 = std::min(total, r0 + T);
    float* col = col_.data() + static_cast<size_t>(tid) * T * K_;
    simd::im2col_nhwc_f32(x, ishape, g, r0, r1, col);
    const size_t p0 = static_cast<size_t>(pc) * panels_per, p1 = std::min(panels, p0 + panels_per);
    if (p0 >= p1) return;
    const size_t n0 = p0 * simd::kGemmNR, n1 = std::min<size_t>(Mg_, p1 * simd::kGemmNR);
    simd::GemmEpilogue ep{bias_[g].data() + n0, p.lo, p.hi};
    simd::gemm_f32(static_cast<size_t>(r1 - r0), n1 - n0, static_cast<size_t>(K_), col,
                   static_cast<size_t>(K_), packed_[g].data.data() + p0 * K_ * simd::kGemmNR,
                   y + r0 * p.M + g * Mg_ + n0, static_cast<size_t>(p.M), ep);
  });
}

}  // namespace octet::kernels
