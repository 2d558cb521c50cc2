// Integer NHWC convolution: pointwise (1x1, stride 1, no padding) as one GEMM over the input
// rows; depthwise (group == C == M) by QDwConv2dNhwc (kernels/qdwconv.h); first layers
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
#include "base/int_math.h"
#include "kernels/parallel.h"
#include "kernels/qdwconv.h"
#include "simd/im2col_u8.h"

namespace octet::kernels {

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
  std::unique_ptr<QDwConv2dNhwc> depthwise;
  // Per-thread scratch.
  std::vector<std::vector<uint8_t>> col;
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
  void run_pointwise(const uint8_t* x, uint8_t* y);
  void run_im2col(const uint8_t* x, uint8_t* y);
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
  im.col.resize(size_t(im.threads));
  if (is_depthwise(p)) {
    im.kind = Impl::Kind::kDepthwise;
    im.depthwise = std::make_unique<QDwConv2dNhwc>(p, q, w, bias, im.threads, isa);
    im.name = im.depthwise->impl_name();
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

QConv2dNhwc::~QConv2dNhwc() = default;

std::string_view QConv2dNhwc::impl_name() const { return impl_->name; }

void QConv2dNhwc::run(const void* x, void* y) {
  Impl& im = *impl_;
  const auto* xb = static_cast<const uint8_t*>(x);
  auto* yb = static_cast<uint8_t*>(y);
  switch (im.kind) {
    case Impl::Kind::kPointwise: im.run_pointwise(xb, yb); break;
    case Impl::Kind::kIm2col: im.run_im2col(xb, yb); break;
    case Impl::Kind::kDepthwise: im.depthwise->run(xb, yb); break;
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

}  // namespace octet::kernels
