// Integer GEMM: weight packing per path, run-time dispatch (AMX, AVX-512 VNNI, AVX2, scalar)
// and the zero point / bias / requantization bookkeeping around the simd/ microkernels.
//
// Zero point: sum_k (a - zp) * b = sum_k a * b - zp * colsum[n], so the packed weights carry
// colsum and each output pays one multiply-add (comp[n] = bias[n] - zp * colsum[n], computed
// once per call). The SIMD paths read s8 codes as u8 (a ^ 0x80 = a + 128), which adds 128 to
// the zero point. All integer arithmetic wraps modulo 2^32 exactly like the reference.
#include "kernels/qgemm.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/int_math.h"
#include "kernels/parallel.h"
#include "simd/qgemm_kernels.h"
#include "simd/round_half_even.h"

namespace octet::kernels {

namespace {
void (*amx_tile_kernel_override)(const simd::QGemmTile&) = nullptr;
}  // namespace

void set_amx_tile_kernel_for_testing(void (*kernel)(const simd::QGemmTile&)) {
  amx_tile_kernel_override = kernel;
}

QIsa qgemm_cpu_isa() {
  const QIsa hardware = simd::cpu_isa_detected();
  if (amx_tile_kernel_override && hardware == QIsa::kAvx512Vnni) return QIsa::kAmx;
  return hardware;
}

QIsa qgemm_best_isa() { return std::min(qgemm_cpu_isa(), simd::cpu_isa_cap()); }

namespace {


struct AlignedFree {
  void operator()(uint8_t* p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<uint8_t[], AlignedFree>;
AlignedBytes aligned_bytes(int64_t n) {
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, size_t(round_up(n > 0 ? n : 1, 64))));
  OCTET_CHECK(p, "qgemm: out of memory (", n, " bytes)");
  return AlignedBytes(p);
}

// Per-thread work space, grown on demand and kept.
struct Scratch {
  std::vector<int32_t> comp, tmp;
  std::vector<uint8_t> apad;
  std::vector<float> mult;
  AlignedBytes kernel;
  int64_t kernel_size = 0;
  void* kernel_space(int64_t n) {
    if (n > kernel_size) {
      kernel = aligned_bytes(n);
      kernel_size = n;
    }
    return kernel.get();
  }
};
thread_local Scratch t_scratch;

}  // namespace

struct QGemmPackedB::Impl {
  int64_t N = 0, K = 0, Kp = 0, pw = 1, panel_bytes = 0, packed_size = 0;
  QIsa isa = QIsa::kScalar;
  bool int4 = false;              // panels of nibbles (VNNI, AVX2, scalar)
  std::vector<uint8_t> b_n4;      // scalar int4: [N][(K + 1) / 2] nibbles
  std::vector<int8_t> b_nk;     // scalar path: B as given
  AlignedBytes packed;          // SIMD paths: column panels
  std::vector<int32_t> colsum;  // N sums of each column's weights
  std::vector<int32_t> sum32;   // [N][ceil(K / 32)] sums of each 32 weights (blockwise)
};

QGemmPackedB::QGemmPackedB(const int8_t* b_nk, int64_t N, int64_t K, QIsa isa)
    : impl_(new Impl) {
  OCTET_CHECK(N >= 0 && K >= 0 && (b_nk || N * K == 0), "qgemm: bad B (", N, " x ", K, ")");
  OCTET_CHECK(isa <= qgemm_cpu_isa(), "qgemm: this CPU cannot run the ", qisa_name(isa),
              " path");
  Impl& im = *impl_;
  im.N = N;
  im.K = K;
  im.isa = isa;
  im.colsum.assign(size_t(N), 0);
  const int64_t nc32 = (K + 31) / 32;
  im.sum32.assign(size_t(N * nc32), 0);
  for (int64_t n = 0; n < N; ++n) {
    int32_t s = 0;
    for (int64_t k = 0; k < K; ++k) {
      s += b_nk[n * K + k];
      im.sum32[size_t(n * nc32 + k / 32)] += b_nk[n * K + k];
    }
    im.colsum[size_t(n)] = s;
  }
  switch (isa) {
    case QIsa::kScalar:
      im.Kp = K;
      im.b_nk.assign(b_nk, b_nk + N * K);
      break;
    case QIsa::kAvx512Vnni:
    case QIsa::kAmx: {
      im.pw = 16;
      im.Kp = round_up(K, isa == QIsa::kAmx ? 64 : 4);
      im.panel_bytes = im.Kp * 16;
      const int64_t npan = (N + 15) / 16;
      im.packed = aligned_bytes(npan * im.panel_bytes);
      auto* dst = reinterpret_cast<int8_t*>(im.packed.get());
      std::memset(dst, 0, size_t(npan * im.panel_bytes));
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
          dst[(n / 16) * im.panel_bytes + (k / 4) * 64 + (n % 16) * 4 + k % 4] = b_nk[n * K + k];
      break;
    }
    case QIsa::kAvx2: {
      im.pw = 8;
      im.Kp = round_up(K, 2);
      im.panel_bytes = im.Kp * 8 * 2;
      const int64_t npan = (N + 7) / 8;
      im.packed = aligned_bytes(npan * im.panel_bytes);
      auto* dst = reinterpret_cast<int16_t*>(im.packed.get());
      std::memset(dst, 0, size_t(npan * im.panel_bytes));
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
          dst[(n / 8) * (im.Kp * 8) + (k / 2) * 16 + (n % 8) * 2 + k % 2] = b_nk[n * K + k];
      break;
    }
  }
  im.packed_size = isa == QIsa::kScalar ? N * K : (isa == QIsa::kAvx2 ? (N + 7) / 8 : (N + 15) / 16) * im.panel_bytes;
}

QGemmPackedB QGemmPackedB::from_int4(const uint8_t* nibbles, int64_t N, int64_t K, QIsa isa) {
  OCTET_CHECK(N >= 0 && K >= 0 && (nibbles || N * K == 0), "qgemm: bad int4 B (", N, " x ", K,
              ")");
  std::vector<int8_t> b(size_t(N * K));
  for (int64_t i = 0; i < N * K; ++i) b[size_t(i)] = int4_at(nibbles, i);
  QGemmPackedB out(b.data(), N, K, isa);
  Impl& im = *out.impl_;
  if (isa == QIsa::kAmx) return out;  // AMX tiles load int8 panels
  im.int4 = true;
  if (isa == QIsa::kScalar) {
    const int64_t kb = (K + 1) / 2;
    im.b_n4.assign(size_t(N * kb), 0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        im.b_n4[size_t(n * kb + k / 2)] |= uint8_t((b[size_t(n * K + k)] & 0xF) << (4 * (k % 2)));
    im.b_nk.clear();
    im.b_nk.shrink_to_fit();
    im.packed_size = N * kb;
    return out;
  }
  // Pairs of 64-byte (VNNI: one k-group of 4) or 32-byte (AVX2: one k-pair, int16) panel rows
  // become one row of nibbles: byte i = row 2h's weight i (low) | row 2h + 1's (high).
  const bool vnni = isa == QIsa::kAvx512Vnni;
  const int64_t row_w = vnni ? 64 : 16;  // weights per panel row
  const int64_t rows = vnni ? im.Kp / 4 : im.Kp / 2, rows2 = (rows + 1) / 2;
  const int64_t npan = vnni ? (N + 15) / 16 : (N + 7) / 8;
  const int64_t nb = rows2 * row_w;  // nibble panel bytes
  AlignedBytes packed = aligned_bytes(npan * nb + 64);
  std::memset(packed.get(), 0, size_t(npan * nb + 64));
  for (int64_t pn = 0; pn < npan; ++pn)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < row_w; ++i) {
        const int src = vnni ? int(reinterpret_cast<const int8_t*>(im.packed.get())[pn * im.panel_bytes + r * 64 + i])
                             : int(reinterpret_cast<const int16_t*>(im.packed.get())[(pn * im.panel_bytes) / 2 + r * 16 + i]);
        packed[size_t(pn * nb + (r / 2) * row_w + i)] |= uint8_t((src & 0xF) << (4 * (r % 2)));
      }
  im.packed = std::move(packed);
  im.panel_bytes = nb;
  im.packed_size = npan * nb;
  return out;
}

bool QGemmPackedB::is_int4() const { return impl_->int4; }
int64_t QGemmPackedB::packed_bytes() const { return impl_->packed_size; }

QGemmPackedB::~QGemmPackedB() = default;
QGemmPackedB::QGemmPackedB(QGemmPackedB&&) noexcept = default;
QGemmPackedB& QGemmPackedB::operator=(QGemmPackedB&&) noexcept = default;
int64_t QGemmPackedB::N() const { return impl_->N; }
int64_t QGemmPackedB::K() const { return impl_->K; }
QIsa QGemmPackedB::isa() const { return impl_->isa; }
int64_t QGemmPackedB::panel_width() const { return impl_->pw; }

namespace {

void check_args(const QGemmPackedB::Impl& im, const QGemmA& a, int64_t n0, int64_t n1,
                const QGemmEpilogue& ep) {
  OCTET_CHECK(0 <= n0 && n0 <= n1 && n1 <= im.N && n0 % im.pw == 0, "qgemm: column range [",
              n0, ", ", n1, ") of ", im.N, " (panels of ", im.pw, ")");
  OCTET_CHECK(a.data || a.rows || im.K == 0, "qgemm: A is null");
  OCTET_CHECK(!a.rows || (a.koff && im.K % 4 == 0 && im.isa != QIsa::kAmx),
              "qgemm: indirect A needs K % 4 == 0 and the VNNI, AVX2 or scalar path");
  if (!ep.requant) {
    OCTET_CHECK(ep.out_type == DType::kI32, "qgemm: output type ", dtype_name(ep.out_type),
                " without requantization");
    return;
  }
  const Requantizer& rq = *ep.requant;
  OCTET_CHECK(ep.out_type == DType::kU8 || ep.out_type == DType::kI8, "qgemm: output type ",
              dtype_name(ep.out_type), " with requantization");
  const int32_t lo = ep.out_type == DType::kU8 ? 0 : -128, hi = lo + 255;
  OCTET_CHECK(lo <= rq.qmin && rq.qmin <= rq.qmax && rq.qmax <= hi, "qgemm: clamp [", rq.qmin,
              ", ", rq.qmax, "] outside the ", dtype_name(ep.out_type), " range");
  OCTET_CHECK(rq.multipliers.size() == 1 || int64_t(rq.multipliers.size()) >= n1,
              "qgemm: ", rq.multipliers.size(), " multipliers for ", im.N, " channels");
}

// Plain loops over unpacked B with the column sums (the scalar path).
void qgemm_scalar(int64_t M, const QGemmA& a, const QGemmPackedB::Impl& im, int64_t n0,
                  int64_t n1, const int32_t* comp, const QGemmEpilogue& ep, void* c,
                  int64_t ldc) {
  const int64_t K = im.K;
  std::vector<uint8_t> gathered;
  if (a.rows) gathered.resize(size_t(K));
  for (int64_t m = 0; m < M; ++m) {
    const uint8_t* row;  // a.data is null when the rows are given indirectly
    if (a.rows) {
      for (int64_t g = 0; g < K / 4; ++g) std::memcpy(&gathered[size_t(4 * g)], a.rows[m] + a.koff[g], 4);
      row = gathered.data();
    } else {
      row = static_cast<const uint8_t*>(a.data) + m * a.lda;
    }
    for (int64_t n = n0; n < n1; ++n) {
      uint32_t acc = 0;
      if (im.int4) {
        const uint8_t* b4 = im.b_n4.data() + n * ((K + 1) / 2);
        for (int64_t k = 0; k < K; ++k) {
          // Signed nibble: shift it to the top of an int8, then arithmetic shift back.
          const int32_t wv = int8_t(uint8_t(b4[k / 2] << (k % 2 ? 0 : 4))) >> 4;
          const int32_t av = a.is_signed ? int32_t(int8_t(row[k])) : int32_t(row[k]);
          acc += uint32_t(av * wv);
        }
      } else {
        const int8_t* b = im.b_nk.data() + n * K;
        if (a.is_signed)
          for (int64_t k = 0; k < K; ++k) acc += uint32_t(int32_t(int8_t(row[k])) * b[k]);
        else
          for (int64_t k = 0; k < K; ++k) acc += uint32_t(int32_t(row[k]) * b[k]);
      }
      const int32_t v = int32_t(acc + uint32_t(comp[n - n0]));
      if (!ep.requant) {
        static_cast<int32_t*>(c)[m * ldc + n] = v;
        continue;
      }
      const Requantizer& rq = *ep.requant;
      const int32_t q = requantize_one(rq.scheme, v, rq.channel(n), rq.zero_point, rq.qmin,
                                       rq.qmax);
      static_cast<uint8_t*>(c)[m * ldc + n] = uint8_t(q);
    }
  }
}

void run_kernel(QIsa isa, const simd::QGemmTile& t) {
  switch (isa) {
    case QIsa::kAvx2: simd::qgemm_avx2(t); break;
    case QIsa::kAvx512Vnni: simd::qgemm_vnni(t); break;
    case QIsa::kAmx:
      if (amx_tile_kernel_override) amx_tile_kernel_override(t);
      else simd::qgemm_amx(t);
      break;
    case QIsa::kScalar: break;
  }
}

}  // namespace

void qgemm(int64_t M, const QGemmA& a, const QGemmPackedB& b, int64_t n0, int64_t n1,
           const QGemmEpilogue& ep, void* c, int64_t ldc) {
  const QGemmPackedB::Impl& im = b.impl();
  check_args(im, a, n0, n1, ep);
  if (M <= 0 || n1 == n0) return;
  Scratch& s = t_scratch;
  const int64_t nc = n1 - n0;
  const bool flip = a.is_signed && im.isa != QIsa::kScalar;
  const uint32_t zp = uint32_t(a.zero_point) + (flip ? 128u : 0u);
  s.comp.resize(size_t(nc));
  for (int64_t j = 0; j < nc; ++j)
    s.comp[size_t(j)] = int32_t((ep.bias ? uint32_t(ep.bias[n0 + j]) : 0u) -
                                zp * uint32_t(im.colsum[size_t(n0 + j)]));
  if (im.isa == QIsa::kScalar) {
    qgemm_scalar(M, a, im, n0, n1, s.comp.data(), ep, c, ldc);
    return;
  }
  const Requantizer* rq = ep.requant;
  const bool fp32 = rq && rq->scheme == RequantScheme::kFp32;
  simd::QGemmTile t;
  t.lda = a.lda;
  t.K = im.K;
  t.Kp = im.Kp;
  t.flip = flip;
  t.int4 = im.int4;
  t.vbmi = simd::cpu_has_avx512_vbmi();
  t.b = im.packed.get() + (n0 / im.pw) * im.panel_bytes;
  t.panel_bytes = im.panel_bytes;
  t.ncols = nc;
  t.comp = s.comp.data();
  if (fp32) {
    s.mult.resize(size_t(nc));
    for (int64_t j = 0; j < nc; ++j) s.mult[size_t(j)] = rq->channel(n0 + j).multiplier;
    t.mult = s.mult.data();
    t.lo = float(rq->qmin - rq->zero_point);
    t.hi = float(rq->qmax - rq->zero_point);
    t.zp = rq->zero_point;
  }
  t.scratch = s.kernel_space(im.isa == QIsa::kAmx ? simd::qgemm_scratch_bytes_amx(im.Kp)
                                                  : simd::qgemm_scratch_bytes_avx2(im.Kp));
  // Row blocks of A that stay in L2 while every column panel passes over them.
  const int64_t mb = std::max<int64_t>(96, (int64_t(256) * 1024 / std::max<int64_t>(im.Kp, 1)) / 96 * 96);
  const size_t out_size = rq ? 1 : 4;
  const bool fixed = rq && !fp32;
  if (fixed) s.tmp.resize(size_t(std::min(mb, M) * nc));
  // VNNI reads A in groups of 4 bytes: K rounded up to 4, rows copied when not readable.
  const bool vnni = im.isa == QIsa::kAvx512Vnni;
  const bool copy_a = vnni && im.K % 4 != 0 && a.readable < im.Kp;
  if (vnni) t.K = im.Kp;
  if (copy_a) s.apad.resize(size_t(std::min(mb, M) * im.Kp));
  for (int64_t m0 = 0; m0 < M; m0 += mb) {
    const int64_t rows = std::min(mb, M - m0);
    if (a.rows) {  // a.data is null: no pointer arithmetic on it
      t.a = nullptr;
      t.rows = a.rows + m0;
      t.koff = a.koff;
    } else {
      t.a = static_cast<const uint8_t*>(a.data) + m0 * a.lda;
    }
    t.M = rows;
    if (copy_a) {
      for (int64_t r = 0; r < rows; ++r) {
        uint8_t* dst = s.apad.data() + r * im.Kp;
        std::memcpy(dst, t.a + r * a.lda, size_t(im.K));
        std::memset(dst + im.K, 0, size_t(im.Kp - im.K));
      }
      t.a = s.apad.data();
      t.lda = im.Kp;
    }
    if (!fixed) {
      t.c = static_cast<uint8_t*>(c) + (m0 * ldc + n0) * int64_t(out_size);
      t.ldc = ldc;
      run_kernel(im.isa, t);
      continue;
    }
    // Fixed-point schemes: int32 sums from the kernel, then requantize_one per value.
    t.c = s.tmp.data();
    t.ldc = nc;
    run_kernel(im.isa, t);
    for (int64_t r = 0; r < rows; ++r) {
      auto* out = static_cast<uint8_t*>(c) + (m0 + r) * ldc + n0;
      const int32_t* acc = s.tmp.data() + r * nc;
      for (int64_t j = 0; j < nc; ++j)
        out[j] = uint8_t(requantize_one(rq->scheme, acc[j], rq->channel(n0 + j),
                                        rq->zero_point, rq->qmin, rq->qmax));
    }
  }
}

namespace {

void check_blockwise(int64_t K, const QGemmBlockwise& p) {
  OCTET_CHECK(p.block == 32 || p.block == 64 || p.block == 128, "qgemm_blockwise: block ",
              p.block, " (32, 64 or 128)");
  OCTET_CHECK(K % p.block == 0, "qgemm_blockwise: K = ", K, " is not a multiple of the block ",
              p.block);
  OCTET_CHECK(p.w_scale || K == 0, "qgemm_blockwise: null weight scales");
  OCTET_CHECK(p.out_type == DType::kU8 || p.out_type == DType::kI8,
              "qgemm_blockwise: output type ", dtype_name(p.out_type));
  const int32_t lo = p.out_type == DType::kU8 ? 0 : -128;
  OCTET_CHECK(lo <= p.qmin && p.qmin <= p.qmax && p.qmax <= lo + 255, "qgemm_blockwise: clamp [",
              p.qmin, ", ", p.qmax, "] outside the ", dtype_name(p.out_type), " range");
}

// The float steps after the block sums (shared by every path: the definition).
inline uint8_t blockwise_out(float f, const QGemmBlockwise& p, int64_t n) {
  float g = f * p.m;
  if (p.bias_f) g = g + p.bias_f[n];
  const float lo = float(p.qmin - p.zero_point), hi = float(p.qmax - p.zero_point);
  g = g > lo ? g : lo;
  g = g < hi ? g : hi;
  return uint8_t(int32_t(simd::round_half_even(g)) + p.zero_point);
}

}  // namespace

void qgemm_blockwise_reference(int64_t M, int64_t N, int64_t K, const QGemmA& a,
                               const uint8_t* w_nibbles, const QGemmBlockwise& p, void* c,
                               int64_t ldc) {
  check_blockwise(K, p);
  OCTET_CHECK(!a.rows, "qgemm_blockwise: indirect A is not supported");
  const int64_t nb = K / p.block;
  for (int64_t m = 0; m < M; ++m) {
    const auto* row = static_cast<const uint8_t*>(a.data) + m * a.lda;
    for (int64_t n = 0; n < N; ++n) {
      float f = 0.f;
      for (int64_t b = 0; b < nb; ++b) {
        uint32_t s = 0;
        for (int64_t k = b * p.block; k < (b + 1) * p.block; ++k) {
          const int32_t x = a.is_signed ? int32_t(int8_t(row[k])) : int32_t(row[k]);
          s += uint32_t((x - a.zero_point) * int32_t(int4_at(w_nibbles, n * K + k)));
        }
        const float prod = float(int32_t(s)) * p.w_scale[n * nb + b];
        f = f + prod;
      }
      static_cast<uint8_t*>(c)[m * ldc + n] = blockwise_out(f, p, n);
    }
  }
}

void qgemm_blockwise(int64_t M, const QGemmA& a, const QGemmPackedB& b, int64_t n0, int64_t n1,
                     const QGemmBlockwise& p, void* c, int64_t ldc) {
  const QGemmPackedB::Impl& im = b.impl();
  check_blockwise(im.K, p);
  OCTET_CHECK(!a.rows, "qgemm_blockwise: indirect A is not supported");
  OCTET_CHECK(0 <= n0 && n0 <= n1 && n1 <= im.N && n0 % im.pw == 0,
              "qgemm_blockwise: column range [", n0, ", ", n1, ") of ", im.N);
  OCTET_CHECK(a.data || im.K == 0, "qgemm_blockwise: A is null");
  if (M <= 0 || n1 == n0) return;
  const int64_t K = im.K, B = p.block, nb = K / B, nc = n1 - n0, nc32 = (K + 31) / 32;
  // Block sums of each column's weights (from the 32-weight sums).
  auto block_sum = [&](int64_t n, int64_t blk) {
    uint32_t s = 0;
    for (int64_t j = blk * B / 32; j < (blk + 1) * B / 32; ++j)
      s += uint32_t(im.sum32[size_t(n * nc32 + j)]);
    return s;
  };
  Scratch& s = t_scratch;
  if (im.isa == QIsa::kScalar) {
    for (int64_t m = 0; m < M; ++m) {
      const auto* row = static_cast<const uint8_t*>(a.data) + m * a.lda;
      for (int64_t n = n0; n < n1; ++n) {
        float f = 0.f;
        for (int64_t blk = 0; blk < nb; ++blk) {
          uint32_t acc = 0;
          for (int64_t k = blk * B; k < (blk + 1) * B; ++k) {
            const int32_t wv = im.int4
                ? int32_t(int8_t(uint8_t(im.b_n4[size_t(n * ((K + 1) / 2) + k / 2)] << (k % 2 ? 0 : 4))) >> 4)
                : int32_t(im.b_nk[size_t(n * K + k)]);
            const int32_t x = a.is_signed ? int32_t(int8_t(row[k])) : int32_t(row[k]);
            acc += uint32_t(x * wv);
          }
          const int32_t sb = int32_t(acc - uint32_t(a.zero_point) * block_sum(n, blk));
          const float prod = float(sb) * p.w_scale[n * nb + blk];
          f = f + prod;
        }
        static_cast<uint8_t*>(c)[m * ldc + n] = blockwise_out(f, p, n);
      }
    }
    return;
  }
  const bool flip = a.is_signed;
  const uint32_t zp = uint32_t(a.zero_point) + (flip ? 128u : 0u);
  if (im.isa == QIsa::kAvx512Vnni || im.isa == QIsa::kAmx) {
    // Fused VNNI kernel (AMX panels share the VNNI layout).
    const int64_t ldp = (nc + 31) / 32 * 32;
    std::vector<int32_t> comp(size_t(nb * ldp), 0);
    std::vector<float> scale(size_t(nb * ldp), 0.f);
    for (int64_t blk = 0; blk < nb; ++blk)
      for (int64_t j = 0; j < nc; ++j) {
        comp[size_t(blk * ldp + j)] = int32_t(0u - zp * block_sum(n0 + j, blk));
        scale[size_t(blk * ldp + j)] = p.w_scale[(n0 + j) * nb + blk];
      }
    simd::QGemmBlockTile t;
    t.a = static_cast<const uint8_t*>(a.data);
    t.lda = a.lda;
    t.M = M;
    t.K = K;
    t.block = B;
    t.flip = flip;
    t.int4 = im.int4;
    t.b = im.packed.get() + (n0 / im.pw) * im.panel_bytes;
    t.panel_bytes = im.panel_bytes;
    t.ncols = nc;
    t.comp = comp.data();
    t.scale = scale.data();
    t.ldp = ldp;
    t.m = p.m;
    t.bias = p.bias_f ? p.bias_f + n0 : nullptr;
    t.lo = float(p.qmin - p.zero_point);
    t.hi = float(p.qmax - p.zero_point);
    t.zp = p.zero_point;
    t.c = static_cast<uint8_t*>(c) + n0;
    t.ldc = ldc;
    simd::qgemm_blockwise_vnni(t);
    return;
  }
  // AVX2: per block, the kernel on the block's k range gives s_b (int32, with comp = -zp *
  // block sum); then f += float(s_b) * scale in plain loops (no FMA: -ffp-contract=off).
  const QIsa kisa = im.isa;
  const int64_t mb = 96;
  std::vector<int32_t> comp(size_t(nb * nc));
  std::vector<float> scale(size_t(nb * nc));
  for (int64_t blk = 0; blk < nb; ++blk)
    for (int64_t j = 0; j < nc; ++j) {
      comp[size_t(blk * nc + j)] = int32_t(0u - zp * block_sum(n0 + j, blk));
      scale[size_t(blk * nc + j)] = p.w_scale[(n0 + j) * nb + blk];
    }
  s.tmp.resize(size_t(mb * nc));
  std::vector<float> f(size_t(mb * nc));
  simd::QGemmTile t;
  t.lda = a.lda;
  t.K = B;
  t.Kp = B;
  t.flip = flip;
  t.int4 = im.int4;
  t.panel_bytes = im.panel_bytes;
  t.ncols = nc;
  t.c = s.tmp.data();
  t.ldc = nc;
  t.scratch = s.kernel_space(simd::qgemm_scratch_bytes_avx2(B));
  const auto* panels = im.packed.get() + (n0 / im.pw) * im.panel_bytes;
  for (int64_t m0 = 0; m0 < M; m0 += mb) {
    const int64_t rows = std::min(mb, M - m0);
    std::fill(f.begin(), f.begin() + rows * nc, 0.f);
    t.M = rows;
    for (int64_t blk = 0; blk < nb; ++blk) {
      const int64_t k0 = blk * B;
      t.a = static_cast<const uint8_t*>(a.data) + m0 * a.lda + k0;
      // Panel rows of the block: VNNI k-groups of 4 (64 bytes; int4: 2 per 64-byte row),
      // AVX2 k-pairs (32 bytes; int4: 2 per 16-byte row).
      const int64_t off = kisa == QIsa::kAvx512Vnni ? (im.int4 ? k0 / 8 * 64 : k0 / 4 * 64)
                                                    : (im.int4 ? k0 / 4 * 16 : k0 / 2 * 32);
      t.b = panels + off;
      t.comp = comp.data() + blk * nc;
      run_kernel(kisa, t);
      const float* sc = scale.data() + blk * nc;
      for (int64_t r = 0; r < rows; ++r) {
        float* fr = f.data() + r * nc;
        const int32_t* sr = s.tmp.data() + r * nc;
        for (int64_t j = 0; j < nc; ++j) {
          const float prod = float(sr[j]) * sc[j];
          fr[j] = fr[j] + prod;
        }
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      auto* out = static_cast<uint8_t*>(c) + (m0 + r) * ldc + n0;
      for (int64_t j = 0; j < nc; ++j) out[j] = blockwise_out(f[size_t(r * nc + j)], p, n0 + j);
    }
  }
}


namespace {

// tile(A rows r0.., their count, columns [n0, n1), C rows r0..) over gemm_parallel's tasks.
template <typename Tile>
void direct_rows_parallel(const char* what, int64_t M, const QGemmA& a, const QGemmPackedB& b,
                          void* c, int64_t ldc, DType c_type, int threads, Tile&& tile) {
  OCTET_CHECK(!a.rows, what, ": indirect A is not supported");
  const int64_t cs = int64_t(dtype_size(c_type));
  gemm_parallel(M, b.N(), b.panel_width(), threads, [&](int64_t r0, int64_t r1, int64_t n0, int64_t n1) {
    QGemmA rows = a;
    rows.data = static_cast<const uint8_t*>(a.data) + r0 * a.lda;
    tile(rows, r1 - r0, n0, n1, static_cast<uint8_t*>(c) + r0 * ldc * cs);
  });
}

}  // namespace

void qgemm_parallel(int64_t M, const QGemmA& a, const QGemmPackedB& b, const QGemmEpilogue& ep,
                    void* c, int64_t ldc, int threads) {
  direct_rows_parallel("qgemm_parallel", M, a, b, c, ldc, ep.out_type, threads,
                       [&](const QGemmA& rows, int64_t m, int64_t n0, int64_t n1, void* cr) {
                         qgemm(m, rows, b, n0, n1, ep, cr, ldc);
                       });
}

void qgemm_blockwise_parallel(int64_t M, const QGemmA& a, const QGemmPackedB& b,
                              const QGemmBlockwise& p, void* c, int64_t ldc, int threads) {
  direct_rows_parallel("qgemm_blockwise_parallel", M, a, b, c, ldc, p.out_type, threads,
                       [&](const QGemmA& rows, int64_t m, int64_t n0, int64_t n1, void* cr) {
                         qgemm_blockwise(m, rows, b, n0, n1, p, cr, ldc);
                       });
}

}  // namespace octet::kernels
