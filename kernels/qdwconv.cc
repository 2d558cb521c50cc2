#include "kernels/qdwconv.h"

#include <algorithm>
#include <vector>

#include "base/error.h"
#include "base/int_math.h"
#include "kernels/aligned_vector.h"
#include "kernels/parallel.h"
#include "simd/qdwconv.h"

namespace octet::kernels {

struct QDwConv2dNhwc::Impl {
  ConvParams p;
  QConvQuant q;
  int threads = 1;
  QIsa isa = QIsa::kScalar;
  std::vector<int32_t> bias;          // C values or empty
  int64_t T = 0, Tp = 0, V = 0;       // V: int32 lanes of the SIMD kernel, 0 = scalar
  aligned_vector<int32_t> dw_w, dw_comp;
  aligned_vector<float> dw_mult;
  std::vector<int8_t> dw_wt;          // scalar: [C][T]
  aligned_vector<int32_t> dw_w2;      // AVX2 row kernel (simd::QDwAvx2Rows::w)
  bool dw_avx2_rows = false;
  std::vector<uint8_t> zp_row;        // C codes of the input zero point
  // AVX-512 VNNI: natural and (C | 64, unit stride) paired layouts.
  struct DwPack {
    aligned_vector<int8_t> w;
    aligned_vector<int32_t> comp;
    aligned_vector<float> mult;
    simd::QDwVnniArgs args;
  };
  bool dw_vnni = false, dw_paired = false;
  DwPack dwn, dwp;
  std::vector<uint8_t> zp_buf;        // (W + 1) * C codes of the input zero point
  // Per-thread scratch.
  std::vector<std::vector<const uint8_t*>> taps;
  std::vector<std::vector<int32_t>> acc;
  std::string name;

  void setup_depthwise(const int8_t* w);
  // The AVX2 / AVX-512 kernels' arguments: weights, compensation and (fp32) the epilogue.
  simd::QDwArgs tap_args() const;
  void pack_dw_vnni(const int8_t* w, DwPack& d, bool paired);
  void dw_row(const uint8_t* x, uint8_t* y, int64_t n, int64_t oh, int tid);
  void dw_row_vnni(const uint8_t* x, uint8_t* y, int64_t n, int64_t oh, int tid);
};

QDwConv2dNhwc::QDwConv2dNhwc(const ConvParams& p, const QConvQuant& q, const int8_t* w,
                             const int32_t* bias, int threads, QIsa isa)
    : impl_(new Impl) {
  OCTET_CHECK(is_depthwise(p), "qdwconv: not a depthwise convolution (group ", p.group, ", C ",
              p.C, ", M ", p.M, ")");
  OCTET_CHECK(isa <= qgemm_cpu_isa(), "qdwconv: this CPU cannot run the ", qisa_name(isa), " path");
  Impl& im = *impl_;
  im.p = p;
  im.q = q;
  im.threads = std::max(1, threads);
  im.isa = isa;
  if (bias) im.bias.assign(bias, bias + p.C);
  im.zp_row.assign(size_t(p.C), uint8_t(q.x_zero_point));
  im.taps.resize(size_t(im.threads));
  im.acc.resize(size_t(im.threads));
  im.setup_depthwise(w);
  im.name = "qconv_depthwise_" + std::string(qisa_name(im.V ? isa : QIsa::kScalar));
}

QDwConv2dNhwc::~QDwConv2dNhwc() = default;

simd::QDwArgs QDwConv2dNhwc::Impl::tap_args() const {
  simd::QDwArgs a;
  a.C = p.C;
  a.Tp = Tp;
  a.flip = q.x_signed;
  a.w = dw_w.data();
  a.comp = dw_comp.data();
  const Requantizer& rq = q.requant;
  if (rq.scheme == RequantScheme::kFp32) {
    a.mult = dw_mult.data();
    a.lo = float(rq.qmin - rq.zero_point);
    a.hi = float(rq.qmax - rq.zero_point);
    a.zp = rq.zero_point;
  }
  return a;
}

std::string_view QDwConv2dNhwc::impl_name() const { return impl_->name; }

void QDwConv2dNhwc::run(const uint8_t* x, uint8_t* y) {
  Impl& im = *impl_;
  const ConvParams& p = im.p;
  const int64_t rows = p.N * p.OH;
  if (im.dw_vnni) {
    parallel_for(rows, im.threads,
                 [&](int64_t r, int tid) { im.dw_row_vnni(x, y, r / p.OH, r % p.OH, tid); });
    return;
  }
  parallel_for(rows, im.threads,
               [&](int64_t r, int tid) { im.dw_row(x, y, r / p.OH, r % p.OH, tid); });
}

void QDwConv2dNhwc::Impl::setup_depthwise(const int8_t* w) {
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

void QDwConv2dNhwc::Impl::pack_dw_vnni(const int8_t* w, DwPack& d, bool paired) {
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
void QDwConv2dNhwc::Impl::dw_row_vnni(const uint8_t* x, uint8_t* y, int64_t n, int64_t oh,
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

void QDwConv2dNhwc::Impl::dw_row(const uint8_t* x, uint8_t* y, int64_t n, int64_t oh, int tid) {
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
    const simd::QDwArgs a = tap_args();
    const bool fp32 = rq.scheme == RequantScheme::kFp32;
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
  const simd::QDwArgs a = tap_args();
  const bool fp32 = rq.scheme == RequantScheme::kFp32;
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

}  // namespace octet::kernels
