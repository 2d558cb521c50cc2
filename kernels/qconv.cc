// Integer NHWC convolution: pointwise (1x1, stride 1, no padding) as one GEMM over the input
// rows; depthwise (group == C == M) by direct kernels (VNNI: several pixels of a row per step,
// each tap's weights loaded once, pixels paired when C divides 64; AVX2: tap pairs, or for
// few channels at unit stride a row kernel sharing the widened input; scalar); first layers
// with few channels and strided 1x1 on VNNI as implicit im2col (GEMM rows read through row
// pointers from a zero-point padded copy of the input); everything else as im2col tiles
// (padding = the input zero point's code) times packed weights, group by group. Int4 weights
// stay packed as nibbles on the GEMM paths. Work is split in balanced blocks, a multiple of
// the thread count.
// Every path gives the bits of qconv2d_reference: the integer sums are exact (wrapping), and
// the epilogue is requantize_one or SIMD code equal to it.
#include "kernels/qconv.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernels/parallel.h"
#include "simd/im2col_u8.h"
#include "kernels/aligned_vector.h"
#include "simd/qdwconv.h"

namespace octet::kernels {

namespace {
int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }
}  // namespace

struct QConv2dNhwc::Impl {
  enum class Kind { kPointwise, kIm2col, kDepthwise };
  ConvParams p;
  QConvQuant q;
  int threads = 1;
  QIsa isa = QIsa::kScalar;
  Kind kind = Kind::kIm2col;
  int64_t Cg = 0, Mg = 0, K = 0, ld = 0, tile_rows = 0;
  std::vector<QGemmPackedB> packed;   // per group
  std::vector<Requantizer> group_rq;  // per group: the group's channel multipliers
  std::vector<int32_t> bias;          // M values or empty
  // Depthwise.
  int64_t T = 0, Tp = 0, V = 0;       // V: int32 lanes of the SIMD kernel, 0 = scalar
  aligned_vector<int32_t> dw_w, dw_comp;
  aligned_vector<float> dw_mult;
  std::vector<int8_t> dw_wt;          // scalar: [C][T]
  aligned_vector<int32_t> dw_w2;      // AVX2 row kernel (simd::QDwAvx2Rows::w)
  bool dw_avx2_rows = false;
  std::vector<uint8_t> zp_row;        // C codes of the input zero point
  // Depthwise, AVX-512 VNNI: natural and (C | 64, unit stride) paired layouts.
  struct DwPack {
    aligned_vector<int8_t> w;
    aligned_vector<int32_t> comp;
    aligned_vector<float> mult;
    simd::QDwVnniArgs args;
  };
  bool dw_vnni = false, dw_paired = false;
  DwPack dwn, dwp;
  std::vector<uint8_t> zp_buf;        // (W + 1) * C codes of the input zero point
  void pack_dw_vnni(const int8_t* w, DwPack& d, bool paired);
  // Per-thread scratch.
  std::vector<std::vector<uint8_t>> col;
  std::vector<std::vector<const uint8_t*>> taps;
  std::vector<std::vector<int32_t>> acc;
  std::string name;
  // Implicit im2col (AVX-512 VNNI, group 1, unit dilation along W): the input copied once per
  // run into a zero-point padded image (Hp x Wp), GEMM rows read straight from it. Each kernel
  // row's KW * C bytes form a segment padded to S (multiple of 4) with zero weights.
  bool implicit = false, direct = false;
  bool int4 = false;  // GEMM weights packed as nibbles (depthwise keeps int8)
  QGemmPackedB pack(const std::vector<int8_t>& b, int64_t N, int64_t K) const;
  int64_t Hp = 0, Wp = 0, S = 0;
  std::vector<int64_t> koff;
  std::vector<uint8_t> xpad;
  std::vector<std::vector<const uint8_t*>> rowptrs;
  void pad_input(const uint8_t* x);

  const int32_t* bias_ptr() const { return bias.empty() ? nullptr : bias.data(); }
  void setup_depthwise(const int8_t* w);
  void run_pointwise(const uint8_t* x, uint8_t* y);
  void run_im2col(const uint8_t* x, uint8_t* y);
  void run_depthwise(const uint8_t* x, uint8_t* y);
  void dw_row(const uint8_t* x, uint8_t* y, int64_t n, int64_t oh, int tid);
  void dw_row_vnni(const uint8_t* x, uint8_t* y, int64_t n, int64_t oh, int tid);
};

namespace {
std::vector<uint8_t> nibbles_of(const std::vector<int8_t>& v) {
  std::vector<uint8_t> out((v.size() + 1) / 2, 0);
  for (size_t i = 0; i < v.size(); ++i) out[i / 2] |= uint8_t((v[i] & 0xF) << (4 * (i % 2)));
  return out;
}
}  // namespace

QConv2dNhwc::QConv2dNhwc(const ConvParams& p, const QConvQuant& q, Int4Weights w4,
                         const int32_t* bias, int threads, QIsa isa)
    : impl_(nullptr) {
  OCTET_CHECK(p.C > 0 && p.group > 0 && p.C % p.group == 0 && p.M > 0 && p.KH > 0 && p.KW > 0,
              "qconv: bad parameters");
  OCTET_CHECK(w4.nibbles, "qconv: int4 weights are null");
  const int64_t n = p.M * (p.C / p.group) * p.KH * p.KW;
  std::vector<int8_t> w(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) w[size_t(i)] = int4_at(w4.nibbles, i);
  impl_.reset(new Impl);
  impl_->int4 = true;
  init(p, q, w.data(), bias, threads, isa);
}

QConv2dNhwc::QConv2dNhwc(const ConvParams& p, const QConvQuant& q, const int8_t* w,
                         const int32_t* bias, int threads, QIsa isa)
    : impl_(new Impl) {
  init(p, q, w, bias, threads, isa);
}

QGemmPackedB QConv2dNhwc::Impl::pack(const std::vector<int8_t>& b, int64_t N, int64_t K) const {
  if (!int4) return QGemmPackedB(b.data(), N, K, isa);
  const std::vector<uint8_t> nib = nibbles_of(b);
  return QGemmPackedB::from_int4(nib.data(), N, K, isa);
}

void QConv2dNhwc::init(const ConvParams& p, const QConvQuant& q, const int8_t* w,
                       const int32_t* bias, int threads, QIsa isa) {
  Impl& im = *impl_;
  OCTET_CHECK(q.out_type == DType::kU8 || q.out_type == DType::kI8,
              "qconv: output type must be u8 or i8, got ", dtype_name(q.out_type));
  OCTET_CHECK(p.N > 0 && p.C > 0 && p.H > 0 && p.W > 0 && p.M > 0 && p.OH > 0 && p.OW > 0 &&
                  p.KH > 0 && p.KW > 0 && p.sh > 0 && p.sw > 0 && p.dh > 0 && p.dw > 0 &&
                  p.group > 0 && p.C % p.group == 0 && p.M % p.group == 0,
              "qconv: bad parameters");
  const Requantizer& rq = q.requant;
  OCTET_CHECK(rq.multipliers.size() == 1 || int64_t(rq.multipliers.size()) == p.M, "qconv: ",
              rq.multipliers.size(), " multipliers for ", p.M, " channels");
  const int32_t lo = q.out_type == DType::kU8 ? 0 : -128;
  OCTET_CHECK(lo <= rq.qmin && rq.qmin <= rq.qmax && rq.qmax <= lo + 255, "qconv: clamp [",
              rq.qmin, ", ", rq.qmax, "] outside the output type's range");
  OCTET_CHECK(isa <= qgemm_cpu_isa(), "qconv: this CPU cannot run the ", qisa_name(isa), " path");
  im.p = p;
  im.q = q;
  im.threads = std::max(1, threads);
  im.isa = isa;
  im.Cg = p.C / p.group;
  im.Mg = p.M / p.group;
  im.K = p.KH * p.KW * im.Cg;
  if (bias) im.bias.assign(bias, bias + p.M);
  im.zp_row.assign(size_t(p.C), uint8_t(q.x_zero_point));
  im.col.resize(size_t(im.threads));
  im.taps.resize(size_t(im.threads));
  im.acc.resize(size_t(im.threads));
  if (p.group == p.C && p.M == p.C && p.group > 1) {
    im.kind = Impl::Kind::kDepthwise;
    im.setup_depthwise(w);
    im.name = "qconv_depthwise_" + std::string(qisa_name(im.V ? isa : QIsa::kScalar));
    return;
  }
  const bool pointwise = p.group == 1 && p.KH == 1 && p.KW == 1 && p.sh == 1 && p.sw == 1 &&
                         p.pt == 0 && p.pl == 0 && p.OH == p.H && p.OW == p.W;
  im.kind = pointwise ? Impl::Kind::kPointwise : Impl::Kind::kIm2col;
  // Implicit im2col where copying rows costs much next to the GEMM (a few channels: the first
  // layers) or needs no padded copy (strided 1x1); otherwise im2col tiles.
  const bool no_pad = p.KH == 1 && p.KW == 1 && p.pt == 0 && p.pl == 0 && p.C % 4 == 0 &&
                      (p.OH - 1) * p.sh < p.H && (p.OW - 1) * p.sw < p.W;
  // (AVX2 widens A rows anyway, and the segment padding costs it more than the copy saves.)
  im.implicit = !pointwise && p.group == 1 && p.dw == 1 && isa == QIsa::kAvx512Vnni &&
                (p.KW * p.C <= 32 || no_pad);
  if (im.implicit) {
    im.S = round_up(p.KW * p.C, 4);
    im.Hp = std::max(p.H + p.pt, (p.OH - 1) * p.sh + (p.KH - 1) * p.dh + 1);
    im.Wp = std::max(p.W + p.pl, (p.OW - 1) * p.sw + (p.KW - 1) * p.dw + 1);
    std::vector<int8_t> b(size_t(p.M * p.KH * im.S), 0);
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t c = 0; c < p.C; ++c)
        for (int64_t kh = 0; kh < p.KH; ++kh)
          for (int64_t kw = 0; kw < p.KW; ++kw)
            b[size_t(m * p.KH * im.S + kh * im.S + kw * p.C + c)] =
                w[((m * p.C + c) * p.KH + kh) * p.KW + kw];
    im.packed.push_back(im.pack(b, p.M, p.KH * im.S));
    im.group_rq.push_back(rq);
    for (int64_t g = 0; g < p.KH * im.S / 4; ++g)
      im.koff.push_back((4 * g / im.S) * p.dh * im.Wp * p.C + (4 * g) % im.S);
    // No padding anywhere and no segment padding: rows read the input itself.
    im.direct = im.Hp == p.H && im.Wp == p.W && p.pt == 0 && p.pl == 0 && im.S == p.KW * p.C;
    if (!im.direct)
      im.xpad.assign(size_t(p.N * im.Hp * im.Wp * p.C + 64), uint8_t(q.x_zero_point));
    im.rowptrs.resize(size_t(im.threads));
    im.tile_rows = 384;
    im.name = "qconv_implicit_" + std::string(qisa_name(isa));
    return;
  }
  // Weights [M][Cg][KH][KW] to per-group B [Mg][KH][KW][Cg] (the im2col order).
  std::vector<int8_t> b(size_t(im.Mg * im.K));
  for (int64_t g = 0; g < p.group; ++g) {
    for (int64_t m = 0; m < im.Mg; ++m)
      for (int64_t c = 0; c < im.Cg; ++c)
        for (int64_t kh = 0; kh < p.KH; ++kh)
          for (int64_t kw = 0; kw < p.KW; ++kw)
            b[size_t(m * im.K + (kh * p.KW + kw) * im.Cg + c)] =
                w[(((g * im.Mg + m) * im.Cg + c) * p.KH + kh) * p.KW + kw];
    im.packed.push_back(im.pack(b, im.Mg, im.K));
    Requantizer grq = rq;
    if (rq.multipliers.size() > 1)
      grq.multipliers.assign(rq.multipliers.begin() + g * im.Mg,
                             rq.multipliers.begin() + (g + 1) * im.Mg);
    im.group_rq.push_back(std::move(grq));
  }
  im.ld = round_up(im.K, 4);
  im.tile_rows = std::clamp<int64_t>((int64_t(128) * 1024 / im.ld) / 12 * 12, 24, 384);
  im.name = std::string(pointwise ? "qconv_pointwise_" : "qconv_im2col_") +
            std::string(qisa_name(isa));
}

void QConv2dNhwc::Impl::setup_depthwise(const int8_t* w) {
  const int64_t C = p.C;
  T = p.KH * p.KW;
  Tp = round_up(T, 2);
  if (isa >= QIsa::kAvx512Vnni) {
    V = 16;
    dw_vnni = true;
    zp_buf.assign(size_t((p.W + 1) * C + 64), uint8_t(q.x_zero_point));
    pack_dw_vnni(w, dwn, false);
    dw_paired = C < 64 && 64 % C == 0 && p.sw == 1;
    if (dw_paired) pack_dw_vnni(w, dwp, true);
    return;
  }
  // AVX2: the row kernel (widening shared by the pixels of a row) pays off for few channels
  // at unit stride; the tap-pair kernel otherwise (Tp <= 64).
  dw_avx2_rows = isa == QIsa::kAvx2 && C <= 32 && p.sw == 1;
  V = isa >= QIsa::kAvx512Vnni ? 16
      : (isa == QIsa::kAvx2 && (dw_avx2_rows || Tp <= simd::kqdw_avx2_max_taps)) ? 8
                                                                                 : 0;
  if (!V) {
    dw_wt.assign(w, w + C * T);
    return;
  }
  const bool flip = q.x_signed;
  const uint32_t zp = uint32_t(q.x_zero_point) + (flip ? 128u : 0u);
  const int64_t blk = 2 * V, blocks = ceil_div(C, blk);
  dw_w.assign(size_t(Tp / 2 * blocks * blk), 0);
  dw_comp.assign(size_t(blocks * blk), 0);
  dw_mult.assign(size_t(blocks * blk), 0.f);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j = 0; j < V; ++j) {
        const int64_t ch = b * blk + simd::qdw_lane_channel(j, h == 1);
        const int64_t slot = b * blk + h * V + j;
        if (ch >= C) continue;
        uint32_t wsum = 0;
        for (int64_t t = 0; t < T; ++t) wsum += uint32_t(int32_t(w[ch * T + t]));
        for (int64_t pr = 0; pr < Tp / 2; ++pr) {
          const int32_t w0 = w[ch * T + 2 * pr];
          const int32_t w1 = 2 * pr + 1 < T ? w[ch * T + 2 * pr + 1] : 0;
          dw_w[size_t(pr * blocks * blk + slot)] =
              int32_t((uint32_t(w0) & 0xFFFFu) | (uint32_t(w1) << 16));
        }
        dw_comp[size_t(slot)] =
            int32_t((bias.empty() ? 0u : uint32_t(bias[size_t(ch)])) - zp * wsum);
        dw_mult[size_t(slot)] = q.requant.channel(ch).multiplier;
      }
  if (dw_avx2_rows) {
    // Row kernel weights: kernel rows paired, [blocks][pairs][KW][lo / hi][8].
    const int64_t np = (p.KH + 1) / 2;
    dw_w2.assign(size_t(blocks * np * p.KW * 16), 0);
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t pr = 0; pr < np; ++pr)
        for (int64_t kw = 0; kw < p.KW; ++kw)
          for (int64_t h = 0; h < 2; ++h)
            for (int64_t j = 0; j < 8; ++j) {
              const int64_t ch = b * 16 + simd::qdw_lane_channel(j, h == 1);
              if (ch >= C) continue;
              const int32_t w0 = w[(ch * p.KH + 2 * pr) * p.KW + kw];
              const int32_t w1 = 2 * pr + 1 < p.KH ? w[(ch * p.KH + 2 * pr + 1) * p.KW + kw] : 0;
              dw_w2[size_t((((b * np + pr) * p.KW + kw) * 2 + h) * 8 + j)] =
                  int32_t((uint32_t(w0) & 0xFFFFu) | (uint32_t(w1) << 16));
            }
  }
}

void QConv2dNhwc::Impl::pack_dw_vnni(const int8_t* w, DwPack& d, bool paired) {
  const int64_t C = p.C;
  const uint32_t zp = uint32_t(q.x_zero_point) + (q.x_signed ? 128u : 0u);
  const int64_t width = paired ? 64 : C, blocks = ceil_div(width, 64);
  d.w.assign(size_t(blocks * T * 256), 0);
  d.comp.assign(size_t(blocks * 64), 0);
  d.mult.assign(size_t(blocks * 64), 0.f);
  for (int64_t pos = 0; pos < blocks * 64; ++pos) {
    const int64_t ch = paired ? pos % C : pos;
    if (ch >= C) continue;
    const int64_t b = pos / 64, i = (pos % 64) / 4, qq = pos % 4;
    uint32_t wsum = 0;
    for (int64_t t = 0; t < T; ++t) {
      wsum += uint32_t(int32_t(w[ch * T + t]));
      d.w[size_t(((b * T + t) * 4 + qq) * 64 + pos % 64)] = w[ch * T + t];
    }
    d.comp[size_t(b * 64 + qq * 16 + i)] =
        int32_t((bias.empty() ? 0u : uint32_t(bias[size_t(ch)])) - zp * wsum);
    d.mult[size_t(b * 64 + qq * 16 + i)] = q.requant.channel(ch).multiplier;
  }
  simd::QDwVnniArgs& a = d.args;
  a.KH = p.KH;
  a.KW = p.KW;
  a.tap_bytes = p.dw * C;
  a.vec_in = paired ? p.sw * 64 : p.sw * C;
  a.vec_out = paired ? 64 : C;
  a.blocks = blocks;
  a.width = width;
  a.flip = q.x_signed;
  a.w = d.w.data();
  a.comp = d.comp.data();
  const Requantizer& rq = q.requant;
  if (rq.scheme == RequantScheme::kFp32) {
    a.mult = d.mult.data();
    a.lo = float(rq.qmin - rq.zero_point);
    a.hi = float(rq.qmax - rq.zero_point);
    a.zp = rq.zero_point;
  }
}

// One output row with the VNNI kernel: border pixels from tap pointers, the interior (every
// kernel column inside the row) in vectors of pixels.
void QConv2dNhwc::Impl::dw_row_vnni(const uint8_t* x, uint8_t* y, int64_t n, int64_t oh,
                                    int tid) {
  const int64_t C = p.C;
  const uint8_t* img = x + n * p.H * p.W * C;
  const uint8_t* rowp[64];
  std::vector<const uint8_t*> rowv;
  const uint8_t** rp = rowp;
  if (p.KH > 64) {
    rowv.resize(size_t(p.KH));
    rp = rowv.data();
  }
  bool all_rows = true;
  for (int64_t kh = 0; kh < p.KH; ++kh) {
    const int64_t ih = oh * p.sh - p.pt + kh * p.dh;
    const bool in = ih >= 0 && ih < p.H;
    all_rows &= in;
    rp[kh] = in ? img + ih * p.W * C : zp_buf.data();
  }
  (void)all_rows;
  const Requantizer& rq = q.requant;
  const bool fp32 = rq.scheme == RequantScheme::kFp32;
  uint8_t* out = y + (n * p.OH + oh) * p.OW * C;
  std::vector<int32_t>& tmp = acc[size_t(tid)];
  if (!fp32) tmp.resize(size_t(p.OW * C));
  auto out_at = [&](int64_t ow) -> void* {
    return fp32 ? static_cast<void*>(out + ow * C) : static_cast<void*>(tmp.data() + ow * C);
  };
  // Interior: ow * sw - pl >= 0 and ow * sw - pl + (KW - 1) * dw <= W - 1.
  const int64_t lo = std::min(p.OW, ceil_div(p.pl, p.sw));
  const int64_t last = p.W - 1 - (p.KW - 1) * p.dw + p.pl;
  const int64_t hi = last < 0 ? lo : std::max(lo, std::min(p.OW, last / p.sw + 1));
  std::vector<const uint8_t*>& tp = taps[size_t(tid)];
  tp.resize(size_t(T));
  auto border = [&](int64_t ow) {
    const int64_t iw0 = ow * p.sw - p.pl;
    for (int64_t kh = 0, t = 0; kh < p.KH; ++kh)
      for (int64_t kw = 0; kw < p.KW; ++kw, ++t) {
        const int64_t iw = iw0 + kw * p.dw;
        tp[size_t(t)] = iw >= 0 && iw < p.W ? rp[kh] + iw * C : zp_buf.data();
      }
    simd::qdwconv_vnni_taps(dwn.args, tp.data(), out_at(ow));
  };
  for (int64_t ow = 0; ow < lo; ++ow) border(ow);
  int64_t ow = lo;
  if (dw_paired) {
    simd::QDwVnniArgs a = dwp.args;
    a.rows = rp;
    const int64_t ppv = 64 / C, nvec = (hi - lo) / ppv;
    if (nvec > 0) simd::qdwconv_vnni_row(a, (lo * p.sw - p.pl) * C, nvec, out_at(lo));
    ow = lo + nvec * ppv;
    for (; ow < hi; ++ow) border(ow);
  } else if (hi > lo) {
    simd::QDwVnniArgs a = dwn.args;
    a.rows = rp;
    simd::qdwconv_vnni_row(a, (lo * p.sw - p.pl) * C, hi - lo, out_at(lo));
    ow = hi;
  }
  for (ow = std::max(ow, hi); ow < p.OW; ++ow) border(ow);
  if (!fp32)
    for (int64_t i = 0; i < p.OW * C; ++i)
      out[i] = uint8_t(requantize_one(rq.scheme, tmp[size_t(i)], rq.channel(i % C),
                                      rq.zero_point, rq.qmin, rq.qmax));
}

QConv2dNhwc::~QConv2dNhwc() = default;

std::string_view QConv2dNhwc::impl_name() const { return impl_->name; }

void QConv2dNhwc::run(const void* x, void* y) {
  Impl& im = *impl_;
  const auto* xb = static_cast<const uint8_t*>(x);
  auto* yb = static_cast<uint8_t*>(y);
  switch (im.kind) {
    case Impl::Kind::kPointwise: im.run_pointwise(xb, yb); break;
    case Impl::Kind::kIm2col: im.run_im2col(xb, yb); break;
    case Impl::Kind::kDepthwise: im.run_depthwise(xb, yb); break;
  }
}

void QConv2dNhwc::Impl::run_pointwise(const uint8_t* x, uint8_t* y) {
  const QGemmA a{x, p.C, q.x_signed, q.x_zero_point};
  const QGemmEpilogue ep{bias_ptr(), &q.requant, q.out_type};
  qgemm_parallel(p.N * p.H * p.W, a, packed[0], ep, y, p.M, threads);
}

void QConv2dNhwc::Impl::pad_input(const uint8_t* x) {
  const int64_t rows = p.N * p.H;
  parallel_for(rows, threads, [&](int64_t r, int) {
    const int64_t n = r / p.H, h = r % p.H;
    std::memcpy(xpad.data() + ((n * Hp + h + p.pt) * Wp + p.pl) * p.C, x + r * p.W * p.C,
                size_t(p.W * p.C));
  });
}

void QConv2dNhwc::Impl::run_im2col(const uint8_t* x, uint8_t* y) {
  // Balanced tiles of at most tile_rows pixels, as many tasks as a multiple of the threads.
  const int64_t pix = p.OH * p.OW;
  int64_t tiles = ceil_div(pix, tile_rows);
  if (threads > 1) {
    const int64_t want = round_up(std::max<int64_t>(p.N * tiles * p.group, threads), threads);
    tiles = std::min(pix, ceil_div(want, p.N * p.group));
  }
  const int64_t tile_rows = ceil_div(pix, tiles);
  if (implicit) {
    if (!direct) pad_input(x);  // the padding codes were written at construction
    const QGemmEpilogue ep{bias_ptr(), &q.requant, q.out_type};
    parallel_for(p.N * tiles, threads, [&](int64_t task, int tid) {
      const int64_t tile = task % tiles, n = task / tiles;
      const int64_t p0 = tile * tile_rows, rows = std::min(tile_rows, pix - p0);
      std::vector<const uint8_t*>& rp = rowptrs[size_t(tid)];
      rp.resize(size_t(rows));
      const uint8_t* img = (direct ? x : xpad.data()) + n * Hp * Wp * p.C;
      int64_t oh = p0 / p.OW, ow = p0 % p.OW;
      const uint8_t* rowbase = img + oh * p.sh * Wp * p.C;
      for (int64_t i = 0; i < rows; ++i) {
        rp[size_t(i)] = rowbase + ow * p.sw * p.C;
        if (++ow == p.OW) {
          ow = 0;
          ++oh;
          rowbase += p.sh * Wp * p.C;
        }
      }
      QGemmA a{nullptr, 0, q.x_signed, q.x_zero_point};
      a.rows = rp.data();
      a.koff = koff.data();
      qgemm(rows, a, packed[0], 0, p.M, ep, y + (n * pix + p0) * p.M, p.M);
    });
    return;
  }
  const int64_t tasks = p.N * tiles * p.group;
  parallel_for(tasks, threads, [&](int64_t task, int tid) {
    const int64_t g = task % p.group, tile = (task / p.group) % tiles,
                  n = task / (p.group * tiles);
    const int64_t p0 = tile * tile_rows, rows = std::min(tile_rows, pix - p0);
    std::vector<uint8_t>& buf = col[size_t(tid)];
    if (int64_t(buf.size()) < tile_rows * ld) buf.resize(size_t(tile_rows * ld));
    simd::Im2colU8 ic;
    ic.H = p.H; ic.W = p.W; ic.C = p.C; ic.c0 = g * Cg; ic.Cg = Cg; ic.OW = p.OW;
    ic.KH = p.KH; ic.KW = p.KW; ic.sh = p.sh; ic.sw = p.sw; ic.dh = p.dh; ic.dw = p.dw;
    ic.pt = p.pt; ic.pl = p.pl; ic.pad = uint8_t(q.x_zero_point);
    simd::im2col_u8(ic, x + n * p.H * p.W * p.C, p0, rows, buf.data(), ld);
    const QGemmA a{buf.data(), ld, q.x_signed, q.x_zero_point, ld};
    const QGemmEpilogue ep{bias.empty() ? nullptr : bias.data() + g * Mg, &group_rq[size_t(g)],
                           q.out_type};
    qgemm(rows, a, packed[size_t(g)], 0, Mg, ep, y + ((n * pix + p0) * p.M + g * Mg), p.M);
  });
}

void QConv2dNhwc::Impl::dw_row(const uint8_t* x, uint8_t* y, int64_t n, int64_t oh, int tid) {
  const int64_t C = p.C;
  std::vector<const uint8_t*>& tp = taps[size_t(tid)];
  tp.resize(size_t(p.OW * Tp));
  const uint8_t* img = x + n * p.H * p.W * C;
  // Start of each kernel row's input row, or null when it lies in the padding.
  const uint8_t* rowp[64];
  const uint8_t** rp = p.KH <= 64 ? rowp : nullptr;
  std::vector<const uint8_t*> rowv;
  if (!rp) {
    rowv.resize(size_t(p.KH));
    rp = rowv.data();
  }
  for (int64_t kh = 0; kh < p.KH; ++kh) {
    const int64_t ih = oh * p.sh - p.pt + kh * p.dh;
    rp[kh] = ih >= 0 && ih < p.H ? img + ih * p.W * C : nullptr;
  }
  if (dw_avx2_rows) {  // AVX2: the row kernel
    const Requantizer& rq = q.requant;
    simd::QDwArgs a;
    a.C = C;
    a.flip = q.x_signed;
    a.comp = dw_comp.data();
    const bool fp32 = rq.scheme == RequantScheme::kFp32;
    if (fp32) {
      a.mult = dw_mult.data();
      a.lo = float(rq.qmin - rq.zero_point);
      a.hi = float(rq.qmax - rq.zero_point);
      a.zp = rq.zero_point;
    }
    simd::QDwAvx2Rows r;
    r.rows = rp;
    r.W = p.W; r.C = C; r.KH = p.KH; r.KW = p.KW; r.sw = p.sw; r.dw = p.dw; r.pl = p.pl;
    r.OW = p.OW;
    r.pad = uint8_t(q.x_zero_point);
    r.w = dw_w2.data();
    std::vector<int32_t>& tmp = acc[size_t(tid)];
    const int64_t scratch = simd::qdw_avx2_rows_scratch(p.KH, p.OW, p.KW, p.sw, p.dw);
    const int64_t need = scratch + (fp32 ? 0 : p.OW * C);
    if (int64_t(tmp.size()) < need) tmp.resize(size_t(need));
    r.scratch = tmp.data();
    uint8_t* out = y + (n * p.OH + oh) * p.OW * C;
    int32_t* acc32 = tmp.data() + scratch;
    simd::qdwconv_avx2_row(a, r, fp32 ? static_cast<void*>(out) : static_cast<void*>(acc32));
    if (!fp32)
      for (int64_t i = 0; i < p.OW * C; ++i)
        out[i] = uint8_t(requantize_one(rq.scheme, acc32[i], rq.channel(i % C), rq.zero_point,
                                        rq.qmin, rq.qmax));
    return;
  }
  const uint8_t* zr = zp_row.data();
  for (int64_t ow = 0; ow < p.OW; ++ow) {
    const uint8_t** t = tp.data() + ow * Tp;
    const int64_t iw0 = ow * p.sw - p.pl;
    if (iw0 >= 0 && iw0 + (p.KW - 1) * p.dw < p.W) {
      for (int64_t kh = 0; kh < p.KH; ++kh) {
        const uint8_t* r = rp[kh];
        for (int64_t kw = 0; kw < p.KW; ++kw) *t++ = r ? r + (iw0 + kw * p.dw) * C : zr;
      }
    } else {
      for (int64_t kh = 0; kh < p.KH; ++kh)
        for (int64_t kw = 0; kw < p.KW; ++kw) {
          const int64_t iw = iw0 + kw * p.dw;
          *t++ = rp[kh] && iw >= 0 && iw < p.W ? rp[kh] + iw * C : zr;
        }
    }
    if (Tp > T) *t = zr;
  }
  uint8_t* out = y + (n * p.OH + oh) * p.OW * C;
  const Requantizer& rq = q.requant;
  if (!V) {  // scalar
    for (int64_t ow = 0; ow < p.OW; ++ow) {
      const uint8_t* const* t = tp.data() + ow * Tp;
      for (int64_t c = 0; c < C; ++c) {
        uint32_t s = 0;
        for (int64_t k = 0; k < T; ++k) {
          const int32_t code = q.x_signed ? int32_t(int8_t(t[k][c])) : int32_t(t[k][c]);
          s += uint32_t((code - q.x_zero_point) * int32_t(dw_wt[size_t(c * T + k)]));
        }
        if (!bias.empty()) s += uint32_t(bias[size_t(c)]);
        out[ow * C + c] = uint8_t(requantize_one(rq.scheme, int32_t(s), rq.channel(c),
                                                 rq.zero_point, rq.qmin, rq.qmax));
      }
    }
    return;
  }
  simd::QDwArgs a;
  a.C = C;
  a.Tp = Tp;
  a.flip = q.x_signed;
  a.w = dw_w.data();
  a.comp = dw_comp.data();
  const bool fp32 = rq.scheme == RequantScheme::kFp32;
  if (fp32) {
    a.mult = dw_mult.data();
    a.lo = float(rq.qmin - rq.zero_point);
    a.hi = float(rq.qmax - rq.zero_point);
    a.zp = rq.zero_point;
  }
  void* dst = out;
  std::vector<int32_t>& tmp = acc[size_t(tid)];
  if (!fp32) {
    tmp.resize(size_t(p.OW * C));
    dst = tmp.data();
  }
  if (V == 16)  // not reached: VNNI and AMX take dw_row_vnni
    simd::qdwconv_avx512(a, tp.data(), p.OW, dst);
  else
    simd::qdwconv_avx2(a, tp.data(), p.OW, dst);
  if (!fp32)
    for (int64_t i = 0; i < p.OW * C; ++i)
      out[i] = uint8_t(requantize_one(rq.scheme, tmp[size_t(i)], rq.channel(i % C),
                                      rq.zero_point, rq.qmin, rq.qmax));
}

void QConv2dNhwc::Impl::run_depthwise(const uint8_t* x, uint8_t* y) {
  const int64_t rows = p.N * p.OH;
  if (dw_vnni) {
    parallel_for(rows, threads,
                 [&](int64_t r, int tid) { dw_row_vnni(x, y, r / p.OH, r % p.OH, tid); });
    return;
  }
  parallel_for(rows, threads, [&](int64_t r, int tid) { dw_row(x, y, r / p.OH, r % p.OH, tid); });
}

}  // namespace octet::kernels
