// Integer convolution: QConv2dNhwc on every path this CPU has (forced one by one), at 1 and 2
// threads, against qconv2d_reference, bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/qconv.h"
#include "kernels/qdwconv.h"
#include "tests/support/amx_tile_emulation.h"

using namespace octet;
using namespace octet::kernels;

namespace {

struct Stats {
  int cases = 0, pointwise = 0, im2col = 0, depthwise = 0;
};

void run_case(std::mt19937& g, Stats& st, bool int4 = false, bool wide = false) {
  auto uni = [&](int64_t lo, int64_t hi) { return lo + int64_t(g() % uint32_t(hi - lo + 1)); };
  ConvParams p;
  const int kind = int(g() % 4);  // pointwise, general, depthwise, grouped
  p.N = uni(1, 2);
  p.H = uni(1, 11);
  p.W = wide ? uni(12, 70) : uni(1, 11);
  int64_t pb = 0, pr = 0;
  if (kind == 0) {
    p.C = uni(1, 70);
    p.M = uni(1, 70);
  } else {
    p.KH = uni(1, kind == 2 ? 5 : 4);
    p.KW = g() % 3 ? p.KH : uni(1, 4);
    p.sh = uni(1, 3);
    p.sw = g() % 3 ? p.sh : uni(1, 3);
    p.dh = uni(1, 2);
    p.dw = g() % 3 ? p.dh : uni(1, 2);
    p.pt = uni(0, 2);
    p.pl = uni(0, 2);
    pb = uni(0, 2);
    pr = uni(0, 2);
    if (kind == 1) {
      p.C = uni(1, 40);
      p.M = uni(1, 40);
    } else if (kind == 2) {
      p.C = p.M = p.group = uni(2, 80);
    } else {
      p.group = uni(2, 4);
      p.C = p.group * uni(1, 9);
      p.M = p.group * uni(1, 12);
    }
  }
  const int64_t eh = (p.KH - 1) * p.dh + 1, ew = (p.KW - 1) * p.dw + 1;
  if (p.H + p.pt + pb < eh || p.W + p.pl + pr < ew) return;  // no output
  p.OH = (p.H + p.pt + pb - eh) / p.sh + 1;
  p.OW = (p.W + p.pl + pr - ew) / p.sw + 1;

  QConvQuant q;
  q.x_signed = g() % 2;
  q.x_zero_point = q.x_signed ? int32_t(uni(-128, 127)) : int32_t(uni(0, 255));
  const bool out_u8 = g() % 2;
  q.out_type = out_u8 ? DType::kU8 : DType::kI8;
  const RequantScheme schemes[] = {RequantScheme::kFp32, RequantScheme::kFixedPoint,
                                   RequantScheme::kFixedPointSingle};
  Requantizer& rq = q.requant;
  rq.scheme = schemes[g() % 3];
  const int64_t K = (p.C / p.group) * p.KH * p.KW;
  const double typical = 30.0 / (5000.0 * std::sqrt(double(K)));
  std::uniform_real_distribution<double> f(-2.0, 2.0);
  const int64_t nm = g() % 2 ? p.M : 1;
  for (int64_t i = 0; i < nm; ++i) {
    double real = typical * std::exp2(f(g));
    if (g() % 8 == 0) real = std::ldexp(1.0, -int(g() % 12));
    rq.multipliers.push_back(make_multiplier_from_real(rq.scheme, real));
  }
  const int32_t lo = out_u8 ? 0 : -128;
  rq.zero_point = lo + int32_t(g() % 256);
  rq.qmin = lo;
  rq.qmax = lo + 255;
  if (g() % 3 == 0) {
    rq.qmin = std::max(lo, rq.zero_point - int32_t(g() % 40));
    rq.qmax = std::min(lo + 255, rq.qmin + 1 + int32_t(g() % 200));
  }
  std::vector<uint8_t> x(size_t(p.N * p.H * p.W * p.C));
  for (auto& v : x) v = uint8_t(g());
  std::vector<int8_t> w(size_t(p.M * K));
  for (auto& v : w) v = int4 ? int8_t(int(g() % 16) - 8) : int8_t(g());
  std::vector<uint8_t> nib((w.size() + 1) / 2, 0);
  for (size_t i = 0; i < w.size(); ++i) nib[i / 2] |= uint8_t((w[i] & 0xF) << (4 * (i % 2)));
  std::vector<int32_t> bias(size_t(p.M));
  for (auto& v : bias) v = int32_t(g() % 200001) - 100000;
  const bool use_bias = g() % 4 != 0;
  const size_t ysize = size_t(p.N * p.OH * p.OW * p.M);
  std::vector<uint8_t> ref(ysize);
  qconv2d_reference(p, q, x.data(), w.data(), use_bias ? bias.data() : nullptr, ref.data());
  ++st.cases;
  for (int isa = 0; isa <= int(qgemm_cpu_isa()); ++isa)
    for (int threads : {1, 2}) {
      QConv2dNhwc conv = int4 ? QConv2dNhwc(p, q, Int4Weights{nib.data()},
                                            use_bias ? bias.data() : nullptr, threads, QIsa(isa))
                              : QConv2dNhwc(p, q, w.data(), use_bias ? bias.data() : nullptr,
                                            threads, QIsa(isa));
      CAPTURE(conv.impl_name());
      CAPTURE(threads);
      if (isa == 0 && threads == 1) {
        const std::string name(conv.impl_name());
        st.pointwise += name.find("pointwise") != std::string::npos;
        st.im2col += name.find("im2col") != std::string::npos;
        st.depthwise += name.find("depthwise") != std::string::npos;
      }
      std::vector<uint8_t> y(ysize, 0xCD);
      conv.run(x.data(), y.data());
      CHECK(y == ref);
    }
}

}  // namespace

TEST_CASE("qconv: every path and thread count equals the reference bit for bit") {
  std::mt19937 g(777);
  Stats st;
  for (int i = 0; i < 1200; ++i) {
    CAPTURE(i);
    run_case(g, st);
  }
  CHECK(st.cases >= 1000);
  CHECK(st.pointwise > 100);
  CHECK(st.im2col > 200);
  CHECK(st.depthwise > 200);
}

TEST_CASE("qconv: wide rows (multi-pixel depthwise, implicit im2col) equal the reference") {
  std::mt19937 g(99);
  Stats st;
  for (int i = 0; i < 240; ++i) {
    CAPTURE(i);
    run_case(g, st, false, true);
  }
  CHECK(st.cases >= 200);
  CHECK(st.depthwise > 40);
}

TEST_CASE("qconv: int4 weights equal the reference with the unpacked values") {
  std::mt19937 g(4444);
  Stats st;
  for (int i = 0; i < 300; ++i) {
    CAPTURE(i);
    run_case(g, st, true, i % 8 == 0);
  }
  CHECK(st.cases >= 250);
  CHECK(st.im2col > 50);
  CHECK(st.pointwise > 30);
}

TEST_CASE("qconv: bad parameters are rejected") {
  ConvParams p;
  p.C = 3;
  p.M = 4;
  p.group = 2;  // C not divisible
  QConvQuant q;
  q.requant.multipliers.push_back(make_multiplier_from_real(RequantScheme::kFp32, 0.01));
  std::vector<int8_t> w(12);
  CHECK_THROWS(QConv2dNhwc(p, q, w.data(), nullptr, 1, QIsa::kScalar));
  p.group = 1;
  q.out_type = DType::kI32;
  CHECK_THROWS(QConv2dNhwc(p, q, w.data(), nullptr, 1, QIsa::kScalar));
  // The depthwise kernel takes only group == C == M > 1.
  p = ConvParams{};
  p.C = p.M = p.group = 4;
  q.out_type = DType::kU8;
  CHECK_NOTHROW(QDwConv2dNhwc(p, q, w.data(), nullptr, 1, QIsa::kScalar));
  p.M = 8;
  CHECK_THROWS_WITH(QDwConv2dNhwc(p, q, w.data(), nullptr, 1, QIsa::kScalar),
                    doctest::Contains("not a depthwise convolution"));
}

TEST_CASE("qconv: the AMX path on emulated tiles equals the reference bit for bit") {
  if (qgemm_cpu_isa() != QIsa::kAvx512Vnni) {
    MESSAGE("skipped: the tile emulation needs a CPU with AVX-512 VNNI and no AMX");
    return;
  }
  set_amx_tile_kernel_for_testing(octet::testing::qgemm_amx_emulated);
  struct Restore {
    ~Restore() { set_amx_tile_kernel_for_testing(nullptr); }
  } restore;
  REQUIRE(qgemm_cpu_isa() == QIsa::kAmx);
  const int faults_before = octet::testing::amx_emulation_faults();
  std::mt19937 g(4242);
  Stats st;
  for (int i = 0; i < 150; ++i) {  // every path up to AMX, 1 and 2 threads
    CAPTURE(i);
    run_case(g, st);
  }
  CHECK(st.cases >= 100);
  CHECK(octet::testing::amx_emulation_faults() == faults_before);
}
