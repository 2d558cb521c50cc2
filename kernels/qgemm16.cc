// W8A16 GEMM / convolution: weight packing per path, the zero point and bias terms, the int64
// epilogue, im2col to s16 (kernels/qgemm16.h).
//
// sum_k (x - zp) * w = sum_k (x - s) * w + (s - zp) * colsum, with s = code16_shift(type):
// the kernels see s16 values x - s, and comp[n] = bias[n] + (s - zp) * colsum[n] (int64).
#include "kernels/qgemm16.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/int_math.h"
#include "kernels/parallel.h"
#include "simd/qgemm16_kernels.h"

namespace octet::kernels {

namespace {


struct Scratch16 {
  std::vector<int16_t> a;
  std::vector<int64_t> acc, comp;
};
thread_local Scratch16 t_scratch16;

}  // namespace

struct QGemm16PackedB::Impl {
  int64_t N = 0, K = 0, Kp = 0, pw = 1, panel_elems = 0;
  QIsa isa = QIsa::kScalar;
  std::vector<int8_t> b_nk;      // scalar path
  std::vector<int16_t> packed;   // SIMD paths: [npan][Kp / 2][pw][2]
  std::vector<int64_t> colsum;
};

QGemm16PackedB::QGemm16PackedB(const int8_t* b_nk, int64_t N, int64_t K, QIsa isa)
    : impl_(new Impl) {
  OCTET_CHECK(N >= 0 && K >= 0 && (b_nk || N * K == 0), "qgemm16: bad B (", N, " x ", K, ")");
  OCTET_CHECK(isa <= qgemm_cpu_isa(), "qgemm16: this CPU cannot run the ", qisa_name(isa), " path");
  Impl& im = *impl_;
  im.N = N;
  im.K = K;
  im.isa = isa == QIsa::kAmx ? QIsa::kAvx512Vnni : isa;
  im.Kp = round_up(K, 2);
  im.colsum.assign(size_t(N), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) im.colsum[size_t(n)] += b_nk[n * K + k];
  if (im.isa == QIsa::kScalar) {
    im.b_nk.assign(b_nk, b_nk + N * K);
    return;
  }
  im.pw = im.isa == QIsa::kAvx2 ? 8 : 16;
  im.panel_elems = im.Kp * im.pw;
  const int64_t npan = (N + im.pw - 1) / im.pw;
  im.packed.assign(size_t(npan * im.panel_elems), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      im.packed[size_t((n / im.pw) * im.panel_elems + (k / 2) * im.pw * 2 + (n % im.pw) * 2 + k % 2)] =
          b_nk[n * K + k];
}

QGemm16PackedB::~QGemm16PackedB() = default;
QGemm16PackedB::QGemm16PackedB(QGemm16PackedB&&) noexcept = default;
QGemm16PackedB& QGemm16PackedB::operator=(QGemm16PackedB&&) noexcept = default;
int64_t QGemm16PackedB::N() const { return impl_->N; }
int64_t QGemm16PackedB::K() const { return impl_->K; }
QIsa QGemm16PackedB::isa() const { return impl_->isa; }
int64_t QGemm16PackedB::panel_width() const { return impl_->pw; }
std::string_view QGemm16PackedB::impl_name() const {
  switch (impl_->isa) {
    case QIsa::kAvx2: return "qgemm16_avx2";
    case QIsa::kScalar: return "qgemm16_scalar";
    default: return "qgemm16_avx512_vnni";
  }
}

void qgemm16_s16(int64_t M, const int16_t* a, int64_t lda, int32_t offset, const QGemm16PackedB& b,
                 int64_t n0, int64_t n1, const QGemm16Epilogue& ep, void* c, int64_t ldc) {
  const QGemm16PackedB::Impl& im = b.impl();
  OCTET_CHECK(0 <= n0 && n0 <= n1 && n1 <= im.N && n0 % im.pw == 0, "qgemm16: column range [",
              n0, ", ", n1, ") of ", im.N, " (panels of ", im.pw, ")");
  OCTET_CHECK(ep.requant ? is_wide_output_type(ep.out_type) : ep.out_type == DType::kI64,
              "qgemm16: output type ", dtype_name(ep.out_type), " does not match the epilogue");
  if (ep.requant) {
    const int32_t lo = ep.out_type == DType::kU8 || ep.out_type == DType::kU16 ? 0
                       : ep.out_type == DType::kI8 ? -128 : -32768;
    const int32_t hi = ep.out_type == DType::kU8 ? 255 : ep.out_type == DType::kI8 ? 127
                       : ep.out_type == DType::kU16 ? 65535 : 32767;
    OCTET_CHECK(lo <= ep.requant->qmin && ep.requant->qmin <= ep.requant->qmax && ep.requant->qmax <= hi,
                "qgemm16: clamp outside the ", dtype_name(ep.out_type), " range");
    OCTET_CHECK(ep.requant->multipliers.size() == 1 || int64_t(ep.requant->multipliers.size()) >= n1,
                "qgemm16: too few multipliers");
  }
  if (M <= 0 || n1 == n0) return;
  const int64_t nc = n1 - n0;
  Scratch16& s = t_scratch16;
  s.comp.resize(size_t(nc));
  for (int64_t j = 0; j < nc; ++j)
    s.comp[size_t(j)] = (ep.bias ? ep.bias[n0 + j] : 0) + int64_t(offset) * im.colsum[size_t(n0 + j)];
  auto finish = [&](int64_t row, const int64_t* acc) {
    for (int64_t j = 0; j < nc; ++j) {
      const int64_t v = acc[j] + s.comp[size_t(j)];
      const int64_t o = row * ldc + n0 + j;
      if (!ep.requant) {
        static_cast<int64_t*>(c)[o] = v;
        continue;
      }
      const Requantizer& rq = *ep.requant;
      store_code_any(c, ep.out_type, o,
                     requantize_one64(rq.scheme, v, rq.channel(n0 + j), rq.zero_point, rq.qmin, rq.qmax));
    }
  };
  if (im.isa == QIsa::kScalar) {
    std::vector<int64_t> acc(static_cast<size_t>(nc));
    for (int64_t m = 0; m < M; ++m) {
      const int16_t* row = a + m * lda;
      for (int64_t j = 0; j < nc; ++j) {
        const int8_t* w = im.b_nk.data() + (n0 + j) * im.K;
        int64_t sum = 0;
        for (int64_t k = 0; k < im.K; ++k) sum += int32_t(row[k]) * int32_t(w[k]);
        acc[size_t(j)] = sum;
      }
      finish(m, acc.data());
    }
    return;
  }
  const int64_t npan = (nc + im.pw - 1) / im.pw, ldacc = npan * im.pw;
  const int64_t mb = 64;
  s.acc.resize(size_t(mb * ldacc));
  simd::QGemm16Tile t;
  t.lda = lda;
  t.Kp = im.Kp;
  t.b = im.packed.data() + (n0 / im.pw) * im.panel_elems;
  t.panel_elems = im.panel_elems;
  t.npanels = npan;
  t.acc = s.acc.data();
  t.ldacc = ldacc;
  for (int64_t m0 = 0; m0 < M; m0 += mb) {
    t.M = std::min(mb, M - m0);
    t.a = a + m0 * lda;
    if (im.isa == QIsa::kAvx2) simd::qgemm16_avx2(t);
    else simd::qgemm16_avx512(t);
    for (int64_t r = 0; r < t.M; ++r) finish(m0 + r, s.acc.data() + r * ldacc);
  }
}

namespace {

// Row r of codes -> s16 values code - shift, zeros up to Kp.
void to_s16(const void* src, DType type, int64_t K, int64_t Kp, int16_t* dst) {
  switch (type) {
    case DType::kU16: {
      const auto* p = static_cast<const uint16_t*>(src);
      for (int64_t k = 0; k < K; ++k) dst[k] = int16_t(p[k] ^ 0x8000);
      break;
    }
    case DType::kI16: std::memcpy(dst, src, size_t(K) * 2); break;
    case DType::kU8: {
      const auto* p = static_cast<const uint8_t*>(src);
      for (int64_t k = 0; k < K; ++k) dst[k] = int16_t(p[k]);
      break;
    }
    default: {
      const auto* p = static_cast<const int8_t*>(src);
      for (int64_t k = 0; k < K; ++k) dst[k] = int16_t(p[k]);
      break;
    }
  }
  for (int64_t k = K; k < Kp; ++k) dst[k] = 0;
}

}  // namespace

void qgemm16(int64_t M, const QGemm16A& a, const QGemm16PackedB& b, int64_t n0, int64_t n1,
             const QGemm16Epilogue& ep, void* c, int64_t ldc) {
  OCTET_CHECK(is_wide_input_type(a.type), "qgemm16: input type ", dtype_name(a.type));
  OCTET_CHECK(a.data || b.K() == 0 || M <= 0, "qgemm16: A is null");
  const int64_t K = b.K(), Kp = round_up(K, 2), mb = 64;
  const size_t es = dtype_size(a.type);
  std::vector<int16_t> buf(size_t(std::min(mb, std::max<int64_t>(M, 1)) * Kp));
  const int32_t offset = code16_shift(a.type) - a.zero_point;
  for (int64_t m0 = 0; m0 < M; m0 += mb) {
    const int64_t rows = std::min(mb, M - m0);
    for (int64_t r = 0; r < rows; ++r)
      to_s16(static_cast<const uint8_t*>(a.data) + (m0 + r) * a.lda * int64_t(es), a.type, K, Kp,
             buf.data() + r * Kp);
    const size_t os = ep.requant ? dtype_size(ep.out_type) : 8;
    qgemm16_s16(rows, buf.data(), Kp, offset, b, n0, n1, ep,
                static_cast<uint8_t*>(c) + m0 * ldc * int64_t(os), ldc);
  }
}

void qgemm16_parallel(int64_t M, const QGemm16A& a, const QGemm16PackedB& b,
                      const QGemm16Epilogue& ep, void* c, int64_t ldc, int threads) {
  const int64_t xs = int64_t(dtype_size(a.type));
  const int64_t cs = int64_t(ep.requant ? dtype_size(ep.out_type) : 8);
  gemm_parallel(M, b.N(), b.panel_width(), threads, [&](int64_t r0, int64_t r1, int64_t n0, int64_t n1) {
    QGemm16A rows = a;
    rows.data = static_cast<const uint8_t*>(a.data) + r0 * a.lda * xs;
    qgemm16(r1 - r0, rows, b, n0, n1, ep, static_cast<uint8_t*>(c) + r0 * ldc * cs, ldc);
  });
}

// ---- convolution ----------------------------------------------------------------------------

struct QConv16Nhwc::Impl {
  ConvParams p;
  QConv16Quant q;
  int threads = 1;
  int64_t Cg = 1, Mg = 1, Kg = 1, Kgp = 2;
  std::vector<QGemm16PackedB> packed;  // per group, B [Mg][KH * KW * Cg] (k = (kh, kw, c))
  std::vector<Requantizer> rq;         // per group
  std::vector<std::vector<int64_t>> bias;
  bool pointwise = false;  // 1x1, stride 1, no pad, one group: the input rows are the A rows
};

QConv16Nhwc::QConv16Nhwc(const ConvParams& p, const QConv16Quant& q, const int8_t* w,
                         const int64_t* bias, int threads, QIsa isa)
    : impl_(new Impl) {
  OCTET_CHECK(is_wide_input_type(q.x_type) && is_wide_output_type(q.out_type),
              "qconv16: code types ", dtype_name(q.x_type), " -> ", dtype_name(q.out_type));
  Impl& im = *impl_;
  im.p = p;
  im.q = q;
  im.threads = std::max(1, threads);
  im.Cg = p.C / p.group;
  im.Mg = p.M / p.group;
  im.Kg = p.KH * p.KW * im.Cg;
  im.Kgp = round_up(im.Kg, 2);
  im.pointwise = p.KH == 1 && p.KW == 1 && p.sh == 1 && p.sw == 1 && p.pt == 0 && p.pl == 0 &&
                 p.group == 1 && p.OH == p.H && p.OW == p.W;
  std::vector<int8_t> wg(size_t(im.Mg * im.Kg));
  for (int64_t g = 0; g < p.group; ++g) {
    for (int64_t m = 0; m < im.Mg; ++m)
      for (int64_t c = 0; c < im.Cg; ++c)
        for (int64_t kh = 0; kh < p.KH; ++kh)
          for (int64_t kw = 0; kw < p.KW; ++kw)
            wg[size_t(m * im.Kg + (kh * p.KW + kw) * im.Cg + c)] =
                w[(((g * im.Mg + m) * im.Cg + c) * p.KH + kh) * p.KW + kw];
    im.packed.emplace_back(wg.data(), im.Mg, im.Kg, isa);
    Requantizer r = q.requant;
    if (r.multipliers.size() > 1)
      r.multipliers.assign(q.requant.multipliers.begin() + g * im.Mg,
                           q.requant.multipliers.begin() + (g + 1) * im.Mg);
    im.rq.push_back(std::move(r));
    im.bias.emplace_back(bias ? std::vector<int64_t>(bias + g * im.Mg, bias + (g + 1) * im.Mg)
                              : std::vector<int64_t>());
  }
}

QConv16Nhwc::~QConv16Nhwc() = default;

std::string_view QConv16Nhwc::impl_name() const {
  switch (impl_->packed.empty() ? QIsa::kScalar : impl_->packed[0].isa()) {
    case QIsa::kAvx2: return "qconv16_im2col_avx2";
    case QIsa::kScalar: return "qconv16_im2col_scalar";
    default: return "qconv16_im2col_avx512_vnni";
  }
}

void QConv16Nhwc::run(const void* x, void* y) {
  Impl& im = *impl_;
  const ConvParams& p = im.p;
  const int64_t rows = p.N * p.OH * p.OW, rb = 32;
  const int64_t blocks = (rows + rb - 1) / rb;
  const int32_t shift = code16_shift(im.q.x_type);
  const int16_t pad = int16_t(im.q.x_zero_point - shift);
  const int32_t offset = shift - im.q.x_zero_point;
  const size_t xs = dtype_size(im.q.x_type), ys = dtype_size(im.q.out_type);
  parallel_region(im.threads, [&] {
    std::vector<int16_t> col(size_t(rb * im.Kgp));
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t r0 = blk * rb, nr = std::min(rb, rows - r0);
      for (int64_t g = 0; g < p.group; ++g) {
        for (int64_t r = 0; r < nr; ++r) {
          const int64_t row = r0 + r, n = row / (p.OH * p.OW), oh = (row / p.OW) % p.OH, ow = row % p.OW;
          int16_t* dst = col.data() + r * im.Kgp;
          if (im.pointwise) {
            to_s16(static_cast<const uint8_t*>(x) + row * p.C * int64_t(xs), im.q.x_type, im.Kg, im.Kgp, dst);
            continue;
          }
          for (int64_t kh = 0; kh < p.KH; ++kh) {
            const int64_t ih = oh * p.sh - p.pt + kh * p.dh;
            for (int64_t kw = 0; kw < p.KW; ++kw) {
              const int64_t iw = ow * p.sw - p.pl + kw * p.dw;
              int16_t* d = dst + (kh * p.KW + kw) * im.Cg;
              if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) {
                std::fill(d, d + im.Cg, pad);
                continue;
              }
              const int64_t src = ((n * p.H + ih) * p.W + iw) * p.C + g * im.Cg;
              to_s16(static_cast<const uint8_t*>(x) + src * int64_t(xs), im.q.x_type, im.Cg, im.Cg, d);
            }
          }
          for (int64_t k = im.Kg; k < im.Kgp; ++k) dst[k] = 0;
        }
        QGemm16Epilogue ep{im.bias[size_t(g)].empty() ? nullptr : im.bias[size_t(g)].data(),
                           &im.rq[size_t(g)], im.q.out_type};
        qgemm16_s16(nr, col.data(), im.Kgp, offset, im.packed[size_t(g)], 0, im.Mg, ep,
                    static_cast<uint8_t*>(y) + (r0 * p.M + g * im.Mg) * int64_t(ys), p.M);
      }
    }
  });
}

}  // namespace octet::kernels
