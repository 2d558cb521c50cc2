// Per-block int4 convolution (kernels/qconv_blockwise.h): the reference loops and the
// optimized im2col + qgemm_blockwise paths, which give the same bits because the blocks of the
// im2col row are in the order of the definition and qgemm_blockwise accumulates them in order.
#include "kernels/qconv_blockwise.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "base/error.h"
#include "base/int_math.h"
#include "kernels/parallel.h"
#include "simd/im2col_u8.h"
#include "simd/round_half_even.h"

namespace octet::kernels {

namespace {


void check(const ConvParams& p, const QConvBlockwiseQuant& q) {
  OCTET_CHECK(p.N > 0 && p.C > 0 && p.H > 0 && p.W > 0 && p.M > 0 && p.OH > 0 && p.OW > 0 &&
                  p.KH > 0 && p.KW > 0 && p.sh > 0 && p.sw > 0 && p.dh > 0 && p.dw > 0 &&
                  p.pt >= 0 && p.pl >= 0 && p.group > 0 && p.C % p.group == 0 &&
                  p.M % p.group == 0,
              "qconv_blockwise: bad parameters");
  const std::string why = qconv_blockwise_unsupported(p, q.block);
  OCTET_CHECK(why.empty(), "qconv_blockwise: ", why);
  OCTET_CHECK(q.w_scale, "qconv_blockwise: null weight scales");
  OCTET_CHECK(q.out_type == DType::kU8 || q.out_type == DType::kI8,
              "qconv_blockwise: output type must be u8 or i8, got ", dtype_name(q.out_type));
  const int32_t lo = q.out_type == DType::kU8 ? 0 : -128;
  OCTET_CHECK(lo <= q.qmin && q.qmin <= q.qmax && q.qmax <= lo + 255, "qconv_blockwise: clamp [",
              q.qmin, ", ", q.qmax, "] outside the output type's range");
}

// The float steps after the block sums (QGemmBlockwise's definition).
inline uint8_t block_out(float f, const QConvBlockwiseQuant& q, int64_t m) {
  float g = f * q.m;
  if (q.bias_f) g = g + q.bias_f[m];
  const float lo = float(q.qmin - q.zero_point), hi = float(q.qmax - q.zero_point);
  g = g > lo ? g : lo;
  g = g < hi ? g : hi;
  return uint8_t(int32_t(simd::round_half_even(g)) + q.zero_point);
}

}  // namespace

std::string qconv_blockwise_unsupported(const ConvParams& p, int64_t block) {
  if (block != 32 && block != 64 && block != 128)
    return "block size " + std::to_string(block) + " (the integer kernel takes 32, 64 or 128)";
  if (p.group <= 0 || p.C % p.group != 0) return "channels not divisible by the groups";
  const int64_t Cg = p.C / p.group;
  if (p.group > 1 && Cg == 1)
    return "depthwise convolution (C/group = 1) cannot have blocks of input channels";
  if (Cg % block != 0)
    return "C/group = " + std::to_string(Cg) + " is not a multiple of the block size " +
           std::to_string(block);
  return {};
}

void qconv2d_blockwise_reference(const ConvParams& p, const QConvBlockwiseQuant& q,
                                 const void* x, const uint8_t* w_nibbles, void* y, int threads) {
  check(p, q);
  OCTET_CHECK(w_nibbles, "qconv_blockwise: null weights");
  const int64_t Cg = p.C / p.group, Mg = p.M / p.group, B = q.block, Cb = Cg / B;
  const int64_t T = p.KH * p.KW, K = T * Cg, nb = K / B;
  // Plain loops in the order of the definition: the weights unpacked to [M][KH][KW][Cg] and
  // the scales to [M][block j], each receptive field gathered as (code - zero point) values.
  std::vector<int8_t> wk(size_t(p.M * K));
  std::vector<float> sc(size_t(p.M * nb));
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t t = 0; t < T; ++t) {
        wk[size_t(m * K + t * Cg + c)] = int4_at(w_nibbles, (m * Cg + c) * T + t);
        if (c % B == 0) sc[size_t(m * nb + t * Cb + c / B)] = q.w_scale[(m * Cb + c / B) * T + t];
      }
  const auto* xb = static_cast<const uint8_t*>(x);
  auto* yb = static_cast<uint8_t*>(y);
  const int64_t rows = p.N * p.OH;
  parallel_region(std::max(1, threads), [&] {
    std::vector<int32_t> xr(static_cast<size_t>(K), 0);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / p.OH, oh = r % p.OH;
      for (int64_t ow = 0; ow < p.OW; ++ow)
        for (int64_t g = 0; g < p.group; ++g) {
          for (int64_t kh = 0; kh < p.KH; ++kh) {
            const int64_t ih = oh * p.sh - p.pt + kh * p.dh;
            for (int64_t kw = 0; kw < p.KW; ++kw) {
              const int64_t iw = ow * p.sw - p.pl + kw * p.dw;
              int32_t* dst = xr.data() + (kh * p.KW + kw) * Cg;
              if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) {
                std::fill(dst, dst + Cg, 0);  // padding reads the zero point
                continue;
              }
              const uint8_t* src = xb + ((n * p.H + ih) * p.W + iw) * p.C + g * Cg;
              for (int64_t c = 0; c < Cg; ++c)
                dst[c] = (q.x_signed ? int32_t(int8_t(src[c])) : int32_t(src[c])) - q.x_zero_point;
            }
          }
          for (int64_t m = g * Mg; m < (g + 1) * Mg; ++m) {
            const int8_t* wm = wk.data() + m * K;
            float f = 0.f;
            for (int64_t j = 0; j < nb; ++j) {
              uint32_t s = 0;  // wrapping int32 sum
              for (int64_t k = j * B; k < (j + 1) * B; ++k)
                s += uint32_t(xr[size_t(k)] * int32_t(wm[k]));
              const float prod = float(int32_t(s)) * sc[size_t(m * nb + j)];
              f = f + prod;
            }
            yb[((n * p.OH + oh) * p.OW + ow) * p.M + m] = block_out(f, q, m);
          }
        }
    }
  });
}

struct QConvBlockwiseNhwc::Impl {
  ConvParams p;
  QConvBlockwiseQuant q;
  int threads = 1;
  bool pointwise = false;
  int64_t Cg = 0, Mg = 0, K = 0, tile_rows = 0;
  std::vector<QGemmPackedB> packed;  // per group: B [Mg][K] in im2col order
  std::vector<float> scales;         // [M][K / block], block j = (kh * KW + kw) * Cb + cb
  std::vector<float> bias;           // M values or empty
  std::vector<std::vector<uint8_t>> col;  // per-thread im2col tile
  std::string name;

  QGemmBlockwise params(int64_t g) const {
    QGemmBlockwise b;
    b.block = q.block;
    b.w_scale = scales.data() + g * Mg * (K / q.block);
    b.m = q.m;
    b.bias_f = bias.empty() ? nullptr : bias.data() + g * Mg;
    b.zero_point = q.zero_point;
    b.qmin = q.qmin;
    b.qmax = q.qmax;
    b.out_type = q.out_type;
    return b;
  }
  void run_pointwise(const uint8_t* x, uint8_t* y);
  void run_im2col(const uint8_t* x, uint8_t* y);
};

QConvBlockwiseNhwc::QConvBlockwiseNhwc(const ConvParams& p, const QConvBlockwiseQuant& q,
                                       const uint8_t* w_nibbles, int threads, QIsa isa)
    : impl_(new Impl) {
  check(p, q);
  OCTET_CHECK(w_nibbles, "qconv_blockwise: null weights");
  OCTET_CHECK(isa <= qgemm_cpu_isa(), "qconv_blockwise: this CPU cannot run the ",
              qisa_name(isa), " path");
  Impl& im = *impl_;
  im.p = p;
  im.q = q;
  im.threads = std::max(1, threads);
  im.Cg = p.C / p.group;
  im.Mg = p.M / p.group;
  im.K = p.KH * p.KW * im.Cg;
  const int64_t B = q.block, Cb = im.Cg / B, nb = im.K / B, T = p.KH * p.KW;
  if (q.bias_f) im.bias.assign(q.bias_f, q.bias_f + p.M);
  im.scales.resize(size_t(p.M * nb));
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t cb = 0; cb < Cb; ++cb)
        im.scales[size_t(m * nb + t * Cb + cb)] = q.w_scale[(m * Cb + cb) * T + t];
  im.q.w_scale = nullptr;
  im.q.bias_f = nullptr;
  // Weights [M][Cg][KH][KW] to per-group nibbles [Mg][KH][KW][Cg] (the im2col order).
  std::vector<uint8_t> b(size_t((im.Mg * im.K + 1) / 2));
  for (int64_t g = 0; g < p.group; ++g) {
    std::fill(b.begin(), b.end(), uint8_t(0));
    for (int64_t m = 0; m < im.Mg; ++m)
      for (int64_t c = 0; c < im.Cg; ++c)
        for (int64_t t = 0; t < T; ++t) {
          const int64_t i = m * im.K + t * im.Cg + c;
          const int8_t v = int4_at(w_nibbles, ((g * im.Mg + m) * im.Cg + c) * T + t);
          b[size_t(i / 2)] |= uint8_t((uint8_t(v) & 0xF) << (4 * (i % 2)));
        }
    im.packed.push_back(QGemmPackedB::from_int4(b.data(), im.Mg, im.K, isa));
  }
  im.pointwise = p.group == 1 && p.KH == 1 && p.KW == 1 && p.sh == 1 && p.sw == 1 &&
                 p.pt == 0 && p.pl == 0 && p.OH == p.H && p.OW == p.W;
  im.col.resize(size_t(im.threads));
  // Larger tiles than the per-channel conv: qgemm_blockwise rebuilds its block tables per call.
  im.tile_rows = std::clamp<int64_t>((int64_t(256) * 1024 / im.K) / 12 * 12, 48, 384);
  im.name = std::string(im.pointwise ? "qconv_blockwise_pointwise_" : "qconv_blockwise_im2col_") +
            std::string(qisa_name(isa));
}

QConvBlockwiseNhwc::~QConvBlockwiseNhwc() = default;

std::string_view QConvBlockwiseNhwc::impl_name() const { return impl_->name; }

void QConvBlockwiseNhwc::run(const void* x, void* y) {
  const auto* xb = static_cast<const uint8_t*>(x);
  auto* yb = static_cast<uint8_t*>(y);
  if (impl_->pointwise) impl_->run_pointwise(xb, yb);
  else impl_->run_im2col(xb, yb);
}

void QConvBlockwiseNhwc::Impl::run_pointwise(const uint8_t* x, uint8_t* y) {
  const QGemmA a{x, p.C, q.x_signed, q.x_zero_point};
  qgemm_blockwise_parallel(p.N * p.H * p.W, a, packed[0], params(0), y, p.M, threads);
}

void QConvBlockwiseNhwc::Impl::run_im2col(const uint8_t* x, uint8_t* y) {
  // Balanced tiles of at most tile_rows pixels, as many tasks as a multiple of the threads.
  const int64_t pix = p.OH * p.OW;
  int64_t tiles = ceil_div(pix, tile_rows);
  if (threads > 1) {
    const int64_t want = round_up(std::max<int64_t>(p.N * tiles * p.group, threads), threads);
    tiles = std::min(pix, ceil_div(want, p.N * p.group));
  }
  const int64_t trows = ceil_div(pix, tiles);
  tiles = ceil_div(pix, trows);
  const int64_t tasks = p.N * tiles * p.group;
  parallel_for(tasks, threads, [&](int64_t task, int tid) {
    const int64_t g = task % p.group, tile = (task / p.group) % tiles,
                  n = task / (p.group * tiles);
    const int64_t p0 = tile * trows, rows = std::min(trows, pix - p0);
    std::vector<uint8_t>& buf = col[size_t(tid)];
    if (int64_t(buf.size()) < trows * K) buf.resize(size_t(trows * K));
    simd::Im2colU8 ic;
    ic.H = p.H; ic.W = p.W; ic.C = p.C; ic.c0 = g * Cg; ic.Cg = Cg; ic.OW = p.OW;
    ic.KH = p.KH; ic.KW = p.KW; ic.sh = p.sh; ic.sw = p.sw; ic.dh = p.dh; ic.dw = p.dw;
    ic.pt = p.pt; ic.pl = p.pl; ic.pad = uint8_t(q.x_zero_point);
    simd::im2col_u8(ic, x + n * p.H * p.W * p.C, p0, rows, buf.data(), K);
    const QGemmA a{buf.data(), K, q.x_signed, q.x_zero_point, K};
    qgemm_blockwise(rows, a, packed[size_t(g)], 0, Mg, params(g),
                    y + ((n * pix + p0) * p.M + g * Mg), p.M);
  });
}

}  // namespace octet::kernels
