// exact mode's kernels (kernels/qexact.h): each route — fp32 sums, the 16-bit hi/lo split, the
// integer loops — chosen by the weights' magnitude, equals the integer reference bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/qexact.h"

using namespace octet;
using namespace octet::kernels;

namespace {

std::vector<int8_t> weights(size_t n, int magnitude, std::mt19937& g) {
  std::vector<int8_t> w(n);
  for (int8_t& v : w) v = int8_t(int(g() % uint32_t(2 * magnitude + 1)) - magnitude);
  return w;
}

std::vector<uint8_t> codes(size_t bytes, std::mt19937& g) {
  std::vector<uint8_t> c(bytes);
  for (uint8_t& v : c) v = uint8_t(g());
  return c;
}

Requantizer requantizer(int64_t channels, double scale, int32_t zp, int32_t qmin, int32_t qmax) {
  Requantizer rq;
  for (int64_t c = 0; c < channels; ++c)
    rq.multipliers.push_back(make_multiplier_from_real(RequantScheme::kFp32, scale * (1 + 0.1 * double(c % 3))));
  rq.zero_point = zp;
  rq.qmin = qmin;
  rq.qmax = qmax;
  return rq;
}

}  // namespace

TEST_CASE("qexact: every route of QGemmExact equals the integer reference") {
  std::mt19937 g(11);
  struct Case {
    int64_t K;
    int magnitude;
    bool wide;
    const char* route;
  };
  // The route follows max_n sum_k |w| * max|x - zp| (< 2^24: f32) and, for 16-bit codes,
  // 256 * max_n sum_k |w| (< 2^24: the split).
  for (const Case c : {Case{16, 100, false, "qgemm_exact_f32"}, Case{1100, 127, false, "qgemm_exact_int32"},
                       Case{2, 100, true, "qgemm16_exact_f32"}, Case{300, 127, true, "qgemm16_exact_f32_split"},
                       Case{600, 127, true, "qgemm16_exact_int64"}}) {
    CAPTURE(c.route);
    const int64_t M = 5, N = 7, K = c.K;
    // Weights of +-magnitude (signs random): every row reaches the bound the route is chosen by.
    std::vector<int8_t> wr = weights(size_t(N * K), 1, g);
    for (int8_t& v : wr) v = int8_t(v < 0 ? -c.magnitude : c.magnitude);
    if (!c.wide) {
      const std::vector<uint8_t> a = codes(size_t(M * K), g);
      std::vector<int32_t> bias(static_cast<size_t>(N));
      for (int32_t& b : bias) b = int32_t(g() % 20001) - 10000;
      const Requantizer rq = requantizer(N, 1e-3, 128, 0, 255);
      const QGemmA qa{nullptr, K, false, 131};
      const QGemmEpilogue ep{bias.data(), &rq, DType::kU8};
      QGemmExact exact(M, N, K, qa, wr.data(), ep, 2);
      CHECK(exact.impl_name() == c.route);
      std::vector<uint8_t> got(static_cast<size_t>(M * N)), want(static_cast<size_t>(M * N));
      exact.run(a.data(), got.data());
      QGemmA ra = qa;
      ra.data = a.data();
      qgemm_reference(M, N, K, ra, wr.data(), ep, want.data(), N);
      CHECK(got == want);
    } else {
      const std::vector<uint8_t> a = codes(size_t(M * K * 2), g);  // u16 codes
      std::vector<int64_t> bias(static_cast<size_t>(N));
      for (int64_t& b : bias) b = int64_t(g() % 2000001) - 1000000;
      const Requantizer rq = requantizer(N, 1e-5, 30000, 0, 65535);
      const QGemm16A qa{nullptr, K, DType::kU16, 33000};
      const QGemm16Epilogue ep{bias.data(), &rq, DType::kU16};
      QGemmExact exact(M, N, K, qa, wr.data(), ep, 2);
      CHECK(exact.impl_name() == c.route);
      std::vector<uint8_t> got(static_cast<size_t>(M * N * 2)), want(static_cast<size_t>(M * N * 2));
      exact.run(a.data(), got.data());
      QGemm16A ra = qa;
      ra.data = a.data();
      qgemm16_reference(M, N, K, ra, wr.data(), ep, want.data(), N);
      CHECK(got == want);
    }
  }
}

TEST_CASE("qexact: every route of QConvExact equals the integer reference, padding included") {
  std::mt19937 g(12);
  struct Case {
    int64_t C;
    int magnitude;
    bool wide;
    const char* route;
  };
  for (const Case c : {Case{4, 60, false, "qconv_exact_f32"}, Case{120, 127, false, "qconv_exact_int32"},
                       Case{1, 20, true, "qconv16_exact_f32"}, Case{30, 127, true, "qconv16_exact_f32_split"},
                       Case{70, 127, true, "qconv16_exact_int64"}}) {
    CAPTURE(c.route);
    ConvParams p;
    p.N = 2;
    p.C = c.C;
    p.H = 5;
    p.W = 6;
    p.M = 3;
    p.KH = p.KW = 3;
    p.pt = p.pl = 1;
    p.sh = 1;
    p.sw = 2;
    p.OH = 5;
    p.OW = 3;
    const int64_t K = p.C * p.KH * p.KW;
    std::vector<int8_t> w = weights(size_t(p.M * K), 1, g);
    for (int8_t& v : w) v = int8_t(v < 0 ? -c.magnitude : c.magnitude);
    const int64_t in = p.N * p.H * p.W * p.C, out = p.N * p.OH * p.OW * p.M;
    if (!c.wide) {
      const std::vector<uint8_t> x = codes(size_t(in), g);
      const std::vector<int32_t> bias = {-5000, 0, 7000};
      QConvQuant q;
      q.x_zero_point = 120;
      q.requant = requantizer(p.M, 2e-4, 100, 0, 255);
      QConvExact exact(p, q, w.data(), bias.data(), 2);
      CHECK(exact.impl_name() == c.route);
      std::vector<uint8_t> got(static_cast<size_t>(out)), want(static_cast<size_t>(out));
      exact.run(x.data(), got.data());
      qconv2d_reference(p, q, x.data(), w.data(), bias.data(), want.data());
      CHECK(got == want);
    } else {
      const std::vector<uint8_t> x = codes(size_t(in * 2), g);
      const std::vector<int64_t> bias = {-500000, 0, 700000};
      QConv16Quant q;
      q.x_type = DType::kI16;
      q.x_zero_point = -100;
      q.out_type = DType::kI16;
      q.requant = requantizer(p.M, 1e-5, -50, -32768, 32767);
      QConvExact exact(p, q, w.data(), bias.data(), 2);
      CHECK(exact.impl_name() == c.route);
      std::vector<uint8_t> got(static_cast<size_t>(out * 2)), want(static_cast<size_t>(out * 2));
      exact.run(x.data(), got.data());
      qconv16_reference(p, q, x.data(), w.data(), bias.data(), want.data());
      CHECK(got == want);
    }
  }
}
