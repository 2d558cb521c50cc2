// ONNX Runtime's (MLAS) arithmetic for 8-bit Add, Mul and global average pooling
// (OpArithmetic::kMlas): the vector kernels against the reference over every broadcast form,
// and the points where it differs from the requantization scheme's formulas.
// tests/oracles/test_ort_ops.cc checks both against ONNX Runtime itself.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/dims.h"
#include "kernels/qeltwise.h"
#include "kernels/qpool_global.h"

using namespace octet;
using namespace octet::kernels;

namespace {

QBinaryParams mlas_params(QBinaryOp op, DType t, Dims a, Dims b, Dims y, int32_t za, int32_t zb,
                          int32_t zy, float sa, float sb, float sy) {
  QBinaryParams p;
  p.op = op;
  p.arith = OpArithmetic::kMlas;
  p.a_type = p.b_type = p.y_type = t;
  p.a_dims = std::move(a);
  p.b_dims = std::move(b);
  p.y_dims = std::move(y);
  p.za = za;
  p.zb = zb;
  p.zy = zy;
  p.qmin = t == DType::kU8 ? 0 : -128;
  p.qmax = p.qmin + 255;
  set_qbinary_scales(p, sa, sb, sy);
  return p;
}

}  // namespace

TEST_CASE("mlas QAdd / QMul: vector kernels equal the reference for every broadcast form") {
  std::mt19937 g(13);
  struct Shapes {
    Dims a, b, y;
  };
  // Both vary; b one value per run of 7 (ORT's "input1 is a scalar" span); a one value per
  // run; single values; a middle axis broadcast (runs of 5 with both varying).
  const std::vector<Shapes> forms = {{{3, 4, 37}, {3, 4, 37}, {3, 4, 37}},
                                     {{2, 3, 7}, {2, 3, 1}, {2, 3, 7}},
                                     {{1, 3, 1}, {2, 3, 19}, {2, 3, 19}},
                                     {{1}, {40}, {40}},
                                     {{40}, {1}, {40}},
                                     {{1}, {1}, {1}},
                                     {{4, 1, 5}, {4, 3, 5}, {4, 3, 5}}};
  int compared = 0;
  for (int trial = 0; trial < 60; ++trial)
    for (QBinaryOp op : {QBinaryOp::kAdd, QBinaryOp::kMul})
      for (const Shapes& s : forms) {
        const DType t = g() % 2 ? DType::kU8 : DType::kI8;
        const int32_t lo = t == DType::kU8 ? 0 : -128;
        std::uniform_real_distribution<float> e(-8.f, -2.f);
        const float sa = std::exp2(e(g)), sb = std::exp2(e(g));
        const float sy = op == QBinaryOp::kAdd ? (sa + sb) * 0.7f : sa * sb * 40.f;
        const QBinaryParams p = mlas_params(op, t, s.a, s.b, s.y, lo + int32_t(g() % 256),
                                            lo + int32_t(g() % 256), lo + int32_t(g() % 256), sa, sb, sy);
        auto codes = [&](const Dims& d) {
          int64_t n = 1;
          for (int64_t v : d) n *= v;
          std::vector<uint8_t> c(static_cast<size_t>(n));
          for (uint8_t& v : c) v = uint8_t(g());
          return c;
        };
        const std::vector<uint8_t> a = codes(s.a), b = codes(s.b);
        std::vector<uint8_t> want(codes(s.y).size()), got(want.size());
        qbinary_reference(p, a.data(), b.data(), want.data());
        for (int threads : {1, 3}) {
          qbinary(p, {}, a.data(), b.data(), got.data(), threads);
          REQUIRE(got == want);
          ++compared;
        }
      }
  MESSAGE(compared, " kernel runs equal to the reference");
}

TEST_CASE("mlas QAdd: the zero point is added before rounding, the multiply-adds fused") {
  // a = 1 (za 0) at ratio 0.5 puts the sum exactly halfway: the requantization formula rounds
  // 0.5 to 0 and adds zy = 1 (code 1); MLAS rounds 1.5 to even (code 2).
  for (OpArithmetic arith : {OpArithmetic::kRequantization, OpArithmetic::kMlas}) {
    QBinaryParams p;
    p.arith = arith;
    p.a_dims = p.b_dims = p.y_dims = {1};
    p.zy = 1;
    p.zb = 7;
    set_qbinary_scales(p, 0.5f, 1.f, 1.f);
    const uint8_t a = 1, b = 7;
    uint8_t y = 0;
    qbinary_reference(p, &a, &b, &y);
    CHECK(int(y) == (arith == OpArithmetic::kMlas ? 2 : 1));
  }
  // The constant of the fused form: zy - (ma * za + mb * zb), here 3 - (0.5 * 3 + 0 * 0) = 1.5;
  // b = 0 adds nothing, a = 1 adds 0.5: 2.0, code 2 whichever way ties round.
  QBinaryParams p = mlas_params(QBinaryOp::kAdd, DType::kU8, {1}, {1}, {1}, 3, 0, 3, 0.5f, 0.25f, 1.f);
  CHECK(p.mlas.fixed == 1.5f);
  const uint8_t a = 1, b = 0;
  uint8_t y = 0;
  qbinary_reference(p, &a, &b, &y);
  CHECK(int(y) == 2);
}

TEST_CASE("mlas QMul: (a - za)(b - zb) * ((sa * sb) / sy) + zy, rounded once") {
  // 3 * 1 * 0.5 = 1.5, + zy 0: rounds to 2; with zy 1, 2.5 rounds to 2 (requantization: 2 + 1).
  for (int32_t zy : {0, 1}) {
    QBinaryParams p = mlas_params(QBinaryOp::kMul, DType::kU8, {1}, {1}, {1}, 0, 0, zy, 0.5f, 1.f, 1.f);
    const uint8_t a = 3, b = 1;
    uint8_t y = 0;
    qbinary_reference(p, &a, &b, &y);
    CHECK(int(y) == 2);
  }
}

TEST_CASE("mlas global average pooling: multiplier x_scale / (y_scale * float(S)) in float") {
  std::mt19937 g(5);
  int differs = 0;
  for (int i = 0; i < 2000; ++i) {
    QGlobalAvgPoolParams p;
    p.s = 1 + int64_t(g() % 3000);
    p.scheme = RequantScheme::kFixedPoint;  // mlas requantizes in fp32 whatever the scheme
    std::uniform_real_distribution<float> e(-9.f, -1.f);
    const float sx = std::exp2(e(g)), sy = std::exp2(e(g));
    QGlobalAvgPoolParams r = p;
    p.arith = OpArithmetic::kMlas;
    set_qglobalavgpool_scales(p, sx, sy);
    set_qglobalavgpool_scales(r, sx, sy);
    CHECK(p.scheme == RequantScheme::kFp32);
    CHECK(p.mult.multiplier == sx / (sy * float(p.s)));
    differs += p.mult.multiplier != float(double(sx) / (double(p.s) * double(sy)));
  }
  // The float form rounds twice: its multiplier is not always the once-rounded quotient's.
  MESSAGE(differs, " of 2000 multipliers differ from the once-rounded quotient");
  CHECK(differs > 0);
}
