// The simd/ kernels behind Conv/Gemm/MatMul on every Highway target this CPU supports (the
// development machine picks AVX-512; other machines may run AVX2 or SSE4 code).
#include <doctest/doctest.h>

#include <hwy/targets.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/gemm.h"

using namespace octet;

namespace {
std::vector<float> rnd(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}
void expect_close(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::fabs(a[i] - b[i]) > 1e-4f + 1e-4f * std::fabs(b[i])) {
      INFO("element " << i << ": " << a[i] << " vs " << b[i]);
      CHECK(false);
      return;
    }
  }
}
}  // namespace

TEST_CASE("nn: GEMM, im2col and depthwise kernels agree with the reference on every target") {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    const std::string target_name = hwy::TargetName(target);
    CAPTURE(target_name);
    // GEMM with bias and clamp, odd sizes (row and column tails, half panels).
    const size_t M = 29, N = 45, K = 300;
    auto A = rnd(M * K, 1), B = rnd(K * N, 2), bias = rnd(N, 3);
    kernels::PackedB pb;
    pb.pack(B.data(), K, N, N, 1);
    auto pbias = kernels::pad_bias(bias.data(), N);
    std::vector<float> C(M * N), R(M * N);
    kernels::gemm_packed(M, A.data(), K, pb, C.data(), N, pbias.data(), -0.5f, 3.f, 2);
    kernels::gemm_reference(M, N, K, A.data(), K, 1, B.data(), N, 1, R.data(), N);
    for (size_t m = 0; m < M; ++m)
      for (size_t n = 0; n < N; ++n)
        R[m * N + n] = std::min(std::max(R[m * N + n] + bias[n], -0.5f), 3.f);
    expect_close(C, R);
    // Convolutions: implicit GEMM (dilated, padded), depthwise 3x3 s1/s2, depthwise 5x5.
    struct Case { int64_t C, M, k, s, d, p, group; };
    for (const Case& c : {Case{5, 19, 3, 2, 2, 2, 1}, Case{21, 21, 3, 1, 1, 1, 21},
                          Case{19, 19, 3, 2, 1, 1, 19}, Case{17, 17, 5, 1, 1, 2, 17},
                          Case{8, 40, 1, 1, 1, 0, 2}}) {
      kernels::ConvParams p;
      p.N = 2; p.C = c.C; p.H = 9; p.W = 11; p.M = c.M; p.KH = p.KW = c.k;
      p.sh = p.sw = c.s; p.dh = p.dw = c.d; p.pt = p.pl = c.p; p.group = c.group;
      const int64_t eff = (c.k - 1) * c.d + 1;
      p.OH = (p.H + 2 * c.p - eff) / c.s + 1;
      p.OW = (p.W + 2 * c.p - eff) / c.s + 1;
      p.lo = -1.f;
      auto x = rnd(static_cast<size_t>(p.N * p.C * p.H * p.W), 4);
      auto w = rnd(static_cast<size_t>(p.M * (p.C / p.group) * c.k * c.k), 5);
      auto b = rnd(static_cast<size_t>(p.M), 6);
      std::vector<float> y(static_cast<size_t>(p.N * p.M * p.OH * p.OW)), r(y.size());
      kernels::Conv2dNhwc conv(p, w.data(), b.data(), 2);
      CAPTURE(conv.impl_name());
      conv.run_nhwc(x.data(), y.data());
      kernels::conv2d_reference(p, x.data(), w.data(), b.data(), r.data(), true);
      expect_close(y, r);
    }
  }
  hwy::SetSupportedTargetsForTest(0);  // back to the real CPU
}
