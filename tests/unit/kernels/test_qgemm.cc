// Integer GEMM: every path this CPU has (forced one by one) against qgemm_reference, bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/qgemm.h"
#include "tests/support/amx_tile_emulation.h"

using namespace octet;
using namespace octet::kernels;

namespace {

std::vector<QIsa> isas_here() {
  std::vector<QIsa> v;
  for (int i = 0; i <= int(qgemm_cpu_isa()); ++i) v.push_back(QIsa(i));
  return v;
}

// A requantizer with random scheme / zero point / clamp / multipliers around `typical`.
Requantizer random_requant(std::mt19937& g, int64_t channels, double typical, bool is_u8,
                           RequantScheme scheme) {
  std::uniform_real_distribution<double> f(-2.0, 2.0);
  Requantizer rq;
  rq.scheme = scheme;
  const int64_t n = g() % 2 ? channels : 1;
  for (int64_t i = 0; i < n; ++i) {
    double real = typical * std::exp2(f(g));
    if (g() % 8 == 0) real = std::ldexp(1.0, -int(g() % 12));  // exact powers: ties
    real = std::min(std::max(real, std::ldexp(1.0, -31)), 200.0);
    rq.multipliers.push_back(make_multiplier_from_real(scheme, real));
  }
  const int32_t lo = is_u8 ? 0 : -128;
  rq.zero_point = lo + int32_t(g() % 256);
  rq.qmin = lo;
  rq.qmax = lo + 255;
  if (g() % 3 == 0) {  // a fused activation's clamp
    rq.qmin = std::max(lo, rq.zero_point - int32_t(g() % 40));
    rq.qmax = std::min(lo + 255, rq.qmin + 1 + int32_t(g() % 200));
  }
  return rq;
}

struct GemmCase {
  int64_t M, N, K, lda;
  bool a_signed;
  int32_t zp;
  bool bias, requant;
  RequantScheme scheme;
  bool out_u8;
  bool int4 = false;  // weights in [-8, 7], packed from nibbles
};

std::vector<uint8_t> to_nibbles(const std::vector<int8_t>& v) {
  std::vector<uint8_t> out((v.size() + 1) / 2, 0);
  for (size_t i = 0; i < v.size(); ++i) out[i / 2] |= uint8_t((v[i] & 0xF) << (4 * (i % 2)));
  return out;
}

void run_case(const GemmCase& gc, std::mt19937& g, const std::vector<QIsa>& isas) {
  std::uniform_int_distribution<int> byte(0, 255), w(-128, 127);
  std::vector<uint8_t> A(size_t(gc.M * gc.lda + 4));
  for (auto& x : A) x = uint8_t(byte(g));
  std::vector<int8_t> B(size_t(gc.N * gc.K));
  for (auto& x : B) x = gc.int4 ? int8_t(int(g() % 16) - 8) : int8_t(w(g));
  const std::vector<uint8_t> nib = to_nibbles(B);
  std::vector<int32_t> bias(size_t(gc.N));
  for (auto& x : bias) x = int32_t(g() % 200001) - 100000;
  if (gc.bias && g() % 10 == 0) bias[0] = INT32_MAX - 5;  // wraps
  QGemmA a{A.data(), gc.lda, gc.a_signed, gc.zp};
  if (g() % 2) a.readable = gc.lda + 4;  // true: the buffer has 4 spare bytes
  Requantizer rq;
  QGemmEpilogue ep;
  ep.bias = gc.bias ? bias.data() : nullptr;
  if (gc.requant) {
    rq = random_requant(g, gc.N, 30.0 / (5000.0 * std::sqrt(double(gc.K) + 1)), gc.out_u8,
                        gc.scheme);
    ep.requant = &rq;
    ep.out_type = gc.out_u8 ? DType::kU8 : DType::kI8;
  } else {
    ep.out_type = DType::kI32;
  }
  const size_t es = gc.requant ? 1 : 4;
  const int64_t ldc = gc.N + int64_t(g() % 3);
  std::vector<uint8_t> ref(size_t(gc.M * ldc) * es, 0xCD);
  qgemm_reference(gc.M, gc.N, gc.K, a, B.data(), ep, ref.data(), ldc);
  for (QIsa isa : isas) {
    CAPTURE(qisa_name(isa));
    QGemmPackedB pb = gc.int4 ? QGemmPackedB::from_int4(nib.data(), gc.N, gc.K, isa)
                              : QGemmPackedB(B.data(), gc.N, gc.K, isa);
    if (gc.int4 && isa != QIsa::kAmx) {
      CHECK(pb.is_int4());
      if (isa != QIsa::kScalar) {
        const int64_t pw = pb.panel_width();
        CHECK(pb.packed_bytes() <= (gc.N + pw - 1) / pw * pw * ((gc.K + 7) / 8 * 8) / 2 * (isa == QIsa::kAvx2 ? 2 : 1));
      }
    }
    std::vector<uint8_t> out(ref.size(), 0xCD);
    // Whole column range, or two calls split at a panel boundary.
    const int64_t pw = pb.panel_width();
    const int64_t split = gc.N > pw && g() % 2 ? (1 + int64_t(g() % ((gc.N - 1) / pw))) * pw : gc.N;
    qgemm(gc.M, a, pb, 0, split, ep, out.data(), ldc);
    if (split < gc.N) qgemm(gc.M, a, pb, split, gc.N, ep, out.data(), ldc);
    bool same = true;
    for (int64_t m = 0; m < gc.M && same; ++m)
      same = std::equal(out.begin() + m * ldc * es, out.begin() + (m * ldc + gc.N) * es,
                        ref.begin() + m * ldc * es);
    CHECK(same);
  }
}

}  // namespace

TEST_CASE("qgemm: every path equals the reference bit for bit over random shapes") {
  std::mt19937 g(1234);
  const auto isas = isas_here();
  INFO("paths: up to " << qisa_name(qgemm_cpu_isa()));
  const RequantScheme schemes[] = {RequantScheme::kFp32, RequantScheme::kFixedPoint,
                                   RequantScheme::kFixedPointSingle};
  for (int i = 0; i < 1000; ++i) {
    GemmCase gc;
    gc.M = 1 + int64_t(g() % (i % 10 == 0 ? 100 : 30));
    gc.N = 1 + int64_t(g() % (i % 7 == 0 ? 150 : 50));
    gc.K = int64_t(g() % (i % 5 == 0 ? 700 : 80));
    gc.lda = gc.K + int64_t(g() % 4 == 0 ? g() % 9 : 0);
    gc.a_signed = g() % 2;
    gc.zp = gc.a_signed ? int32_t(g() % 256) - 128 : int32_t(g() % 256);
    gc.bias = g() % 3 != 0;
    gc.requant = g() % 4 != 0;
    gc.scheme = schemes[g() % 3];
    gc.out_u8 = g() % 2;
    CAPTURE(i);
    CAPTURE(gc.M);
    CAPTURE(gc.N);
    CAPTURE(gc.K);
    CAPTURE(gc.a_signed);
    CAPTURE(gc.requant);
    run_case(gc, g, isas);
  }
}

TEST_CASE("qgemm: int4 packed weights equal the int8 path bit for bit") {
  std::mt19937 g(4321);
  const auto isas = isas_here();
  const RequantScheme schemes[] = {RequantScheme::kFp32, RequantScheme::kFixedPoint,
                                   RequantScheme::kFixedPointSingle};
  for (int i = 0; i < 400; ++i) {
    GemmCase gc;
    gc.int4 = true;
    gc.M = 1 + int64_t(g() % (i % 10 == 0 ? 100 : 30));
    gc.N = 1 + int64_t(g() % (i % 7 == 0 ? 150 : 50));
    gc.K = int64_t(g() % (i % 5 == 0 ? 700 : 80));
    gc.lda = gc.K + int64_t(g() % 4 == 0 ? g() % 9 : 0);
    gc.a_signed = g() % 2;
    gc.zp = gc.a_signed ? int32_t(g() % 256) - 128 : int32_t(g() % 256);
    gc.bias = g() % 3 != 0;
    gc.requant = g() % 4 != 0;
    gc.scheme = schemes[g() % 3];
    gc.out_u8 = g() % 2;
    CAPTURE(i);
    CAPTURE(gc.M);
    CAPTURE(gc.N);
    CAPTURE(gc.K);
    run_case(gc, g, isas);
  }
  // The int4 element accessor: low nibble first, sign extended.
  const uint8_t bytes[2] = {0x8F, 0x70};
  CHECK(int4_at(bytes, 0) == -1);
  CHECK(int4_at(bytes, 1) == -8);
  CHECK(int4_at(bytes, 2) == 0);
  CHECK(int4_at(bytes, 3) == 7);
}

TEST_CASE("qgemm: indirect rows (row pointers + k-group offsets) equal the direct rows") {
  std::mt19937 g(1357);
  for (int i = 0; i < 200; ++i) {
    const int64_t M = 1 + int64_t(g() % 40), N = 1 + int64_t(g() % 70);
    const int64_t G = 1 + int64_t(g() % 40), K = 4 * G;
    // k-group offsets: runs of consecutive groups separated by random gaps.
    std::vector<int64_t> koff(static_cast<size_t>(G));
    int64_t off = 0;
    for (int64_t j = 0; j < G; ++j) {
      if (j > 0 && g() % 3 == 0) off += 4 * int64_t(g() % 5);
      koff[size_t(j)] = off;
      off += 4;
    }
    const int64_t span = off;
    std::vector<uint8_t> buf(size_t(M * (span + 7) + 64));
    for (auto& x : buf) x = uint8_t(g());
    std::vector<const uint8_t*> rows(static_cast<size_t>(M));
    std::vector<uint8_t> dense(static_cast<size_t>(M * K));
    for (int64_t m = 0; m < M; ++m) {
      rows[size_t(m)] = buf.data() + m * (span + int64_t(g() % 8));
      for (int64_t j = 0; j < G; ++j)
        for (int b = 0; b < 4; ++b)
          dense[size_t(m * K + 4 * j + b)] = rows[size_t(m)][koff[size_t(j)] + b];
    }
    std::vector<int8_t> B(static_cast<size_t>(N * K));
    for (auto& x : B) x = int8_t(g());
    std::vector<int32_t> bias(static_cast<size_t>(N));
    for (auto& x : bias) x = int32_t(g() % 2001) - 1000;
    QGemmA a{dense.data(), K, bool(g() % 2), int32_t(g() % 256) - (i % 2 ? 128 : 0)};
    if (!a.is_signed) a.zero_point = int32_t(g() % 256);
    Requantizer rq = random_requant(g, N, 30.0 / (5000.0 * std::sqrt(double(K))), true,
                                    RequantScheme::kFp32);
    QGemmEpilogue ep{bias.data(), &rq, DType::kU8};
    std::vector<uint8_t> ref(static_cast<size_t>(M * N));
    qgemm_reference(M, N, K, a, B.data(), ep, ref.data(), N);
    QGemmA ai = a;
    ai.data = nullptr;
    ai.rows = rows.data();
    ai.koff = koff.data();
    for (QIsa isa : isas_here()) {
      if (isa == QIsa::kAmx) continue;
      CAPTURE(qisa_name(isa));
      QGemmPackedB pb(B.data(), N, K, isa);
      std::vector<uint8_t> out(ref.size(), 0xCD);
      qgemm(M, ai, pb, 0, N, ep, out.data(), N);
      CHECK(out == ref);
    }
  }
}

TEST_CASE("qgemm: OCTET_MAX_CPU_ISA caps the chosen path") {
  const char* old = std::getenv("OCTET_MAX_CPU_ISA");
  const std::string saved = old ? old : "";
  setenv("OCTET_MAX_CPU_ISA", "AVX2", 1);
  CHECK(qgemm_best_isa() <= QIsa::kAvx2);
  setenv("OCTET_MAX_CPU_ISA", "SCALAR", 1);
  CHECK(qgemm_best_isa() == QIsa::kScalar);
  setenv("OCTET_MAX_CPU_ISA", "AVX512_CORE_AMX", 1);
  CHECK(qgemm_best_isa() == qgemm_cpu_isa());
  if (old) setenv("OCTET_MAX_CPU_ISA", saved.c_str(), 1); else unsetenv("OCTET_MAX_CPU_ISA");
  CHECK_THROWS(parse_qisa_cap("AVX9000"));
  CHECK(parse_qisa_cap("avx512_core_vnni") == QIsa::kAvx512Vnni);
  // A path the CPU lacks is refused at packing time.
  if (qgemm_cpu_isa() != QIsa::kAmx) {
    const int8_t b[4] = {1, 2, 3, 4};
    CHECK_THROWS(QGemmPackedB(b, 1, 4, QIsa::kAmx));
  }
}

TEST_CASE("qgemm_blockwise: every path equals the reference bit for bit (per-block int4)") {
  std::mt19937 g(2468);
  const auto isas = isas_here();
  std::uniform_real_distribution<float> uf(-1.f, 1.f);
  int cases = 0;
  int64_t total = 0, interior = 0;
  for (int i = 0; i < 320; ++i) {
    const int64_t B = int64_t(32) << (g() % 3);
    const int64_t M = 1 + int64_t(g() % (i % 8 == 0 ? 120 : 25));
    const int64_t N = 1 + int64_t(g() % (i % 6 == 0 ? 100 : 40));
    const int64_t K = B * int64_t(1 + g() % (i % 5 == 0 ? 12 : 4));
    const int64_t lda = K + int64_t(g() % 3);
    const bool a_signed = g() % 2;
    QGemmA a;
    a.lda = lda;
    a.is_signed = a_signed;
    a.zero_point = a_signed ? int32_t(g() % 256) - 128 : int32_t(g() % 256);
    std::vector<uint8_t> A(size_t(M * lda));
    for (auto& x : A) x = uint8_t(g());
    a.data = A.data();
    std::vector<int8_t> w(size_t(N * K));
    for (auto& x : w) x = int8_t(int(g() % 16) - 8);
    const std::vector<uint8_t> nib = to_nibbles(w);
    const int64_t nb = K / B;
    std::vector<float> ws(static_cast<size_t>(N * nb)), bias(static_cast<size_t>(N));
    // Scales so that outputs spread over the code range (some clamp), signs mixed.
    const float typical = 20.f / (std::sqrt(float(K)) * 75.f * 4.5f);
    for (auto& x : ws) x = typical * std::exp2(uf(g) * 2.f) * (g() % 5 == 0 ? -1.f : 1.f);
    for (auto& x : bias) x = uf(g) * 50.f;
    QGemmBlockwise p;
    p.block = B;
    p.w_scale = ws.data();
    p.m = std::exp2(uf(g) * 2.f);
    p.bias_f = g() % 3 ? bias.data() : nullptr;
    const bool out_u8 = g() % 2;
    p.out_type = out_u8 ? DType::kU8 : DType::kI8;
    const int32_t lo = out_u8 ? 0 : -128;
    p.zero_point = lo + int32_t(g() % 256);
    p.qmin = lo;
    p.qmax = lo + 255;
    if (g() % 3 == 0) {
      p.qmin = std::max(lo, p.zero_point - int32_t(g() % 40));
      p.qmax = std::min(lo + 255, p.qmin + 1 + int32_t(g() % 200));
    }
    const int64_t ldc = N + int64_t(g() % 3);
    std::vector<uint8_t> ref(size_t(M * ldc), 0xCD);
    qgemm_blockwise_reference(M, N, K, a, nib.data(), p, ref.data(), ldc);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        const int32_t v = out_u8 ? int32_t(ref[size_t(m * ldc + n)])
                                 : int32_t(int8_t(ref[size_t(m * ldc + n)]));
        ++total;
        interior += v != p.qmin && v != p.qmax;
      }
    CAPTURE(i);
    CAPTURE(M);
    CAPTURE(N);
    CAPTURE(K);
    CAPTURE(B);
    for (QIsa isa : isas)
      for (int packed4 = 0; packed4 < 2; ++packed4) {
        CAPTURE(qisa_name(isa));
        CAPTURE(packed4);
        QGemmPackedB pb = packed4 ? QGemmPackedB::from_int4(nib.data(), N, K, isa)
                                  : QGemmPackedB(w.data(), N, K, isa);
        std::vector<uint8_t> out(ref.size(), 0xCD);
        const int64_t pw = pb.panel_width();
        const int64_t split = N > pw && g() % 2 ? (1 + int64_t(g() % ((N - 1) / pw))) * pw : N;
        qgemm_blockwise(M, a, pb, 0, split, p, out.data(), ldc);
        if (split < N) qgemm_blockwise(M, a, pb, split, N, p, out.data(), ldc);
        CHECK(out == ref);
      }
    ++cases;
  }
  CHECK(cases >= 300);
  CHECK(interior * 2 > total);  // most outputs inside the clamp: the arithmetic is exercised
  MESSAGE("blockwise outputs inside the clamp: " << interior << " of " << total);
  // K not a multiple of the block, or a bad block size, throws.
  std::vector<uint8_t> A(64), nib(64);
  std::vector<float> ws(4, 1.f);
  std::vector<uint8_t> out(4);
  QGemmA a{A.data(), 48};
  QGemmBlockwise p;
  p.block = 32;
  p.w_scale = ws.data();
  CHECK_THROWS(qgemm_blockwise_reference(1, 1, 48, a, nib.data(), p, out.data(), 1));
  p.block = 16;
  CHECK_THROWS(qgemm_blockwise_reference(1, 1, 32, a, nib.data(), p, out.data(), 1));
  QGemmPackedB pb = QGemmPackedB::from_int4(nib.data(), 1, 48, qgemm_cpu_isa());
  p.block = 32;
  CHECK_THROWS(qgemm_blockwise(1, a, pb, 0, 1, p, out.data(), 1));
}

TEST_CASE("qgemm: the AMX path on emulated tiles equals the reference bit for bit") {
  if (qgemm_cpu_isa() != QIsa::kAvx512Vnni) {
    MESSAGE("skipped: the tile emulation needs a CPU with AVX-512 VNNI and no AMX (this one: "
            << std::string(qisa_name(qgemm_cpu_isa())) << ")");
    return;
  }
  set_amx_tile_kernel_for_testing(octet::testing::qgemm_amx_emulated);
  struct Restore {
    ~Restore() { set_amx_tile_kernel_for_testing(nullptr); }
  } restore;
  REQUIRE(qgemm_cpu_isa() == QIsa::kAmx);
  std::mt19937 g(8642);
  const RequantScheme schemes[] = {RequantScheme::kFp32, RequantScheme::kFixedPoint,
                                   RequantScheme::kFixedPointSingle};
  const int faults_before = octet::testing::amx_emulation_faults();
  for (int i = 0; i < 300; ++i) {
    GemmCase gc;
    gc.int4 = i % 4 == 3;
    gc.M = 1 + int64_t(g() % (i % 10 == 0 ? 100 : 40));  // 32-row blocks and their remainders
    gc.N = 1 + int64_t(g() % (i % 7 == 0 ? 150 : 50));   // pairs of 16-column panels
    gc.K = int64_t(g() % (i % 5 == 0 ? 300 : 140));      // 64-byte K chunks and padding
    gc.lda = gc.K + int64_t(g() % 4 == 0 ? g() % 9 : 0);
    gc.a_signed = g() % 2;
    gc.zp = gc.a_signed ? int32_t(g() % 256) - 128 : int32_t(g() % 256);
    gc.bias = g() % 3 != 0;
    gc.requant = g() % 4 != 0;
    gc.scheme = schemes[g() % 3];
    gc.out_u8 = g() % 2;
    CAPTURE(i);
    CAPTURE(gc.M);
    CAPTURE(gc.N);
    CAPTURE(gc.K);
    run_case(gc, g, {QIsa::kAmx});
  }
  CHECK(octet::testing::amx_emulation_faults() == faults_before);
}
