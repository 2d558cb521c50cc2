// quant/encoding + quant/quantize: AIMET's getComputedEncodings (libpymo) against
// hand-computed numbers, and the quantize / dequantize / qdq kernels (round half to even, then
// clamp) against hand-computed codes. Expected values are written from the formulas (arithmetic in
// the comments), never produced by the code under test. Scales are powers of two where a test needs
// exact .5 ties. The last case checks that the Highway kernels equal the scalar reference bit for
// bit on every target.
#include <doctest/doctest.h>

#include <hwy/targets.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "quant/encoding.h"
#include "quant/quantize.h"

using namespace octet;
using namespace octet::quant;

namespace {

bool near(double a, double b) { return std::fabs(a - b) <= 1e-12 * std::fmax(1.0, std::fabs(b)); }

void check_enc(const Encoding& e, double scale, int offset, double min, double max) {
  CHECK(e.offset == offset);
  CHECK(near(e.scale, scale));
  CHECK(near(e.min, min));
  CHECK(near(e.max, max));
  // Invariants of an AIMET encoding: min = scale*offset, max = scale*(offset + N).
  CHECK(near(e.min, e.scale * e.offset));
  CHECK(near(e.max, e.scale * static_cast<double>(e.offset + e.num_steps())));
}

// Per-tensor quantize with both the reference and the SIMD path; they must agree.
template <typename T>
std::vector<T> qcodes(const Encoding& e, CodeDomain d, const std::vector<float>& x) {
  const PreparedQuant p = prepare_quant(e, x.size(), d);
  std::vector<T> r(x.size()), s(x.size());
  quantize<T>(x, r, p, true);
  quantize<T>(x, s, p, false);
  CHECK(r == s);
  return r;
}
template <typename T>
std::vector<float> dequant(const Encoding& e, CodeDomain d, const std::vector<T>& q) {
  const PreparedQuant p = prepare_quant(e, q.size(), d);
  std::vector<float> r(q.size()), s(q.size());
  dequantize<T>(q, r, p, true);
  dequantize<T>(q, s, p, false);
  CHECK(r == s);
  return r;
}
std::vector<float> qdq(const Encoding& e, const std::vector<float>& x) {
  const PreparedQuant p = prepare_quant(e, x.size(), CodeDomain::kUnsigned);
  std::vector<float> r(x.size()), s(x.size());
  quantize_dequantize(x, r, p, true);
  quantize_dequantize(x, s, p, false);
  if (!r.empty()) CHECK(std::memcmp(r.data(), s.data(), r.size() * sizeof(float)) == 0);
  return r;
}

constexpr float k64 = 1.0f / 64, k128 = 1.0f / 128;

}  // namespace

TEST_CASE("quant encoding: asymmetric 8-bit moves min so that 0 is on the grid") {
  // min=-1, max=3: N=255, scale=(3-(-1))/255=4/255. -min/scale = 255/4 = 63.75 -> round 64,
  // offset=-64. min = -64*4/255 = -256/255; max = 3-(-1) + min = 4 - 256/255 = 764/255
  // (= (offset+N)*scale = 191*4/255).
  const Encoding e = compute_encoding(-1.f, 3.f, 8, EncodingKind::kAsymmetric);
  CHECK(e.bitwidth == 8);
  CHECK_FALSE(e.symmetric);
  check_enc(e, 4.0 / 255, -64, -256.0 / 255, 764.0 / 255);
  // Codes (unsigned, zp=64): 0 -> 64; -1 -> round(-63.75)+64 = 0; 3 -> round(191.25)+64 = 255;
  // 1 -> round(63.75)+64 = 128; 5 -> clamp 255; -2 -> clamp 0.
  CHECK(qcodes<uint8_t>(e, CodeDomain::kUnsigned, {0.f, -1.f, 3.f, 1.f, 5.f, -2.f}) ==
        std::vector<uint8_t>{64, 0, 255, 128, 255, 0});
  // Signed codes: q - 128.
  CHECK(qcodes<int8_t>(e, CodeDomain::kSigned, {0.f, -1.f, 3.f, 1.f, 5.f, -2.f}) ==
        std::vector<int8_t>{-64, -128, 127, 0, 127, -128});
  // Dequantize: (q - 64) * float(4/255); code 64 -> exactly 0.
  const float s = static_cast<float>(4.0 / 255);
  CHECK(dequant<uint8_t>(e, CodeDomain::kUnsigned, {64, 0, 255}) ==
        std::vector<float>{0.f, -64.f * s, 191.f * s});
}

TEST_CASE("quant encoding: asymmetric 4-bit, zero point rounds half away from zero") {
  // min=-0.625, max=3.125: N=15, scale=3.75/15=0.25; -min/scale=2.5 -> std::round = 3 (not 2),
  // offset=-3, min=-3*0.25=-0.75, max=3.75-0.75=3.0.
  check_enc(compute_encoding(-0.625f, 3.125f, 4, EncodingKind::kAsymmetric), 0.25, -3, -0.75, 3.0);
  // min=-1, max=2.75: scale=3.75/15=0.25, -min/scale=4, offset=-4, min=-1, max=2.75.
  const Encoding e = compute_encoding(-1.f, 2.75f, 4, EncodingKind::kAsymmetric);
  check_enc(e, 0.25, -4, -1.0, 2.75);
  // x/scale: 0.125->0.5->0 (even), 0.375->1.5->2, -0.625->-2.5->-2, 5->20, -5->-20, 0.625->2.5->2.
  // +zp 4, clamp [0,15]: 4, 6, 2, 15, 0, 6.
  const std::vector<float> x = {0.125f, 0.375f, -0.625f, 5.f, -5.f, 0.625f};
  CHECK(qcodes<int32_t>(e, CodeDomain::kUnsigned, x) == std::vector<int32_t>{4, 6, 2, 15, 0, 6});
  // Signed 4-bit (shift 8): zp=-4, range [-8,7]: -4, -2, -6, 7, -8, -2.
  CHECK(qcodes<int8_t>(e, CodeDomain::kSigned, x) == std::vector<int8_t>{-4, -2, -6, 7, -8, -2});
  // qdq: (q-4)*0.25: 0, 0.5, -0.5, 2.75, -1, 0.5.
  CHECK(qdq(e, x) == std::vector<float>{0.f, 0.5f, -0.5f, 2.75f, -1.f, 0.5f});
}

TEST_CASE("quant encoding: symmetric 8-bit (offset -128) and signed codes") {
  // absmax = max(0.5, 127/64) = 127/64; scale = absmax/floor(255/2) = (127/64)/127 = 1/64;
  // offset = -ceil(255/2) = -128; min = -128/64 = -2; max = 127/64 = 1.984375.
  const Encoding e = compute_encoding(-0.5f, 1.984375f, 8, EncodingKind::kSymmetric);
  CHECK(e.symmetric);
  CHECK_FALSE(e.strict_symmetric);
  check_enc(e, 1.0 / 64, -128, -2.0, 1.984375);
  // x/scale: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, -0.5 -> 0, 0.5 -> 0, 1.5 -> 2, -192 -> -128 (clamp),
  // 640 -> 127 (clamp). Signed zp = 128 - 128 = 0.
  const std::vector<float> x = {2.5f * k64, 3.5f * k64, -2.5f * k64, -0.5f * k64,
                                0.5f * k64, 1.5f * k64, -3.f,        10.f};
  CHECK(qcodes<int8_t>(e, CodeDomain::kSigned, x) ==
        std::vector<int8_t>{2, 4, -2, 0, 0, 2, -128, 127});
  // Unsigned: +128.
  CHECK(qcodes<uint8_t>(e, CodeDomain::kUnsigned, x) ==
        std::vector<uint8_t>{130, 132, 126, 128, 128, 130, 0, 255});
  // qdq: code*1/64; -3 lands on the extra negative level -128/64 = -2.
  CHECK(qdq(e, x) == std::vector<float>{2 * k64, 4 * k64, -2 * k64, 0.f, 0.f, 2 * k64, -2.f,
                                        1.984375f});
  CHECK(dequant<int8_t>(e, CodeDomain::kSigned, {-128, 127, 0, -1}) ==
        std::vector<float>{-2.f, 1.984375f, 0.f, -k64});
  // Positive-only range with plain symmetric: same grid (half of it unused by the data).
  check_enc(compute_encoding(0.f, 1.984375f, 8, EncodingKind::kSymmetric), 1.0 / 64, -128, -2.0,
            1.984375);
  // Negative-only: absmax = |-127/64|, same grid.
  check_enc(compute_encoding(-1.984375f, -1.f, 8, EncodingKind::kSymmetric), 1.0 / 64, -128, -2.0,
            1.984375);
}

TEST_CASE("quant encoding: strict symmetric 8-bit uses [-127, 127]") {
  // N = 254: scale = (127/64)/floor(127) = 1/64, offset = -ceil(127) = -127, min = -127/64,
  // max = 127/64.
  const Encoding e = compute_encoding(-0.5f, 1.984375f, 8, EncodingKind::kStrictSymmetric);
  CHECK(e.strict_symmetric);
  CHECK(e.num_steps() == 254);
  check_enc(e, 1.0 / 64, -127, -1.984375, 1.984375);
  const std::vector<float> x = {-3.f, 10.f, 2.5f * k64, -126.5f * k64};
  // Signed (shift 127, zp 0, range [-127,127]): -127, 127, 2, round(-126.5) = -126 (even).
  CHECK(qcodes<int8_t>(e, CodeDomain::kSigned, x) == std::vector<int8_t>{-127, 127, 2, -126});
  // Unsigned (zp 127, range [0,254]): 0, 254, 129, 1.
  CHECK(qcodes<uint8_t>(e, CodeDomain::kUnsigned, x) == std::vector<uint8_t>{0, 254, 129, 1});
  CHECK(qdq(e, x) == std::vector<float>{-1.984375f, 1.984375f, 2 * k64, -126 * k64});
}

TEST_CASE("quant encoding: unsigned symmetric") {
  // min >= 0 (0.25 -> pre-step min 0): asymmetric branch with min=0: scale = (255/128)/255 =
  // 1/128, offset = round(0) = 0, min = 0, max = 255/128 = 1.9921875.
  const Encoding e = compute_encoding(0.25f, 1.9921875f, 8, EncodingKind::kUnsignedSymmetric);
  CHECK(e.symmetric);
  check_enc(e, 1.0 / 128, 0, 0.0, 1.9921875);
  // x/scale: 0.5 -> 0, 1.5 -> 2, -128 -> clamp 0, 384 -> clamp 255, 254.5 -> 254.
  const std::vector<float> x = {0.5f * k128, 1.5f * k128, -1.f, 3.f, 254.5f * k128};
  CHECK(qcodes<uint8_t>(e, CodeDomain::kUnsigned, x) == std::vector<uint8_t>{0, 2, 0, 255, 254});
  // Signed storage: q - 128.
  CHECK(qcodes<int8_t>(e, CodeDomain::kSigned, x) == std::vector<int8_t>{-128, -126, -128, 127, 126});
  // A negative min falls back to the signed grid: scale = (127/64)/127 = 1/64, offset -128.
  check_enc(compute_encoding(-1.f, 1.984375f, 8, EncodingKind::kUnsignedSymmetric), 1.0 / 64, -128,
            -2.0, 1.984375);
  // Unsigned + strict, min >= 0: N = 254, scale = 1.984375/254 = 1/128, offset 0, max = 254/128.
  check_enc(compute_encoding(0.f, 1.984375f, 8, EncodingKind::kUnsignedStrictSymmetric), 1.0 / 128,
            0, 0.0, 1.984375);
}

TEST_CASE("quant encoding: negative-only and positive-only asymmetric ranges") {
  // [-255/128, -1] -> max = 0: scale = (255/128)/255 = 1/128, offset = round(-255) = -255,
  // min = -255/128, max = 0.
  const Encoding n = compute_encoding(-1.9921875f, -1.f, 8, EncodingKind::kAsymmetric);
  check_enc(n, 1.0 / 128, -255, -1.9921875, 0.0);
  // zp 255: x/scale -0.5 -> 0 -> 255; -1.5 -> -2 -> 253; 1 -> clamp 255; -300/128 -> clamp 0.
  CHECK(qcodes<uint8_t>(n, CodeDomain::kUnsigned,
                       {-0.5f * k128, -1.5f * k128, 1.f, -300.f * k128}) ==
        std::vector<uint8_t>{255, 253, 255, 0});
  // [0.5, 255/128] -> min = 0: scale 1/128, offset 0, min 0, max 255/128.
  const Encoding p = compute_encoding(0.5f, 1.9921875f, 8, EncodingKind::kAsymmetric);
  check_enc(p, 1.0 / 128, 0, 0.0, 1.9921875);
  CHECK(qcodes<uint8_t>(p, CodeDomain::kUnsigned, {-1.f, 0.5f * k128, 100.5f * k128, 9.f}) ==
        std::vector<uint8_t>{0, 0, 100, 255});
}

TEST_CASE("quant encoding: zero and tiny ranges get the 0.01 minimum") {
  // [0,0]: max = max(0, 0 + 0.01) = 0.01; asymmetric min=0: scale = 0.01/255, offset 0.
  const Encoding z = compute_encoding(0.f, 0.f, 8, EncodingKind::kAsymmetric);
  check_enc(z, 0.01 / 255, 0, 0.0, 0.01);
  CHECK(qcodes<uint8_t>(z, CodeDomain::kUnsigned, {0.f, 1.f, -1.f}) ==
        std::vector<uint8_t>{0, 255, 0});
  // Symmetric [0,0]: absmax 0.01, scale = 0.01/127, offset -128.
  check_enc(compute_encoding(0.f, 0.f, 8, EncodingKind::kSymmetric), 0.01 / 127, -128,
            -128 * 0.01 / 127, 0.01);
  // Strict symmetric [0,0] at 4 bits: N=14, scale = 0.01/7, offset -7.
  check_enc(compute_encoding(0.f, 0.f, 4, EncodingKind::kStrictSymmetric), 0.01 / 7, -7, -0.01,
            0.01);
  // Constant tensors: [0.3,0.3] -> [0,0.3], scale 0.3/255, offset 0;
  // [-0.7,-0.7] -> [-0.7,0], scale 0.7/255, offset round(-255) = -255.
  const double p3 = static_cast<double>(0.3f), m7 = static_cast<double>(-0.7f);
  check_enc(compute_encoding(0.3f, 0.3f, 8, EncodingKind::kAsymmetric), p3 / 255, 0, 0.0, p3);
  check_enc(compute_encoding(-0.7f, -0.7f, 8, EncodingKind::kAsymmetric), -m7 / 255, -255, m7, 0.0);
  // Tiny [-0.002, 0.003]: max = max(0.003, -0.002 + 0.01) = 0.008; scale = 0.01/255;
  // -min/scale = 0.002*255/0.01 = 51 -> offset -51, min = -51*0.01/255 = -0.002, max = 0.008.
  const Encoding t = compute_encoding(-0.002f, 0.003f, 8, EncodingKind::kAsymmetric);
  CHECK(t.offset == -51);
  CHECK(std::fabs(t.scale - 0.01 / 255) < 1e-9);
  CHECK(std::fabs(t.min + 0.002) < 1e-8);
  CHECK(std::fabs(t.max - 0.008) < 1e-8);
  // Tiny symmetric [-0.001, 0.002]: max -> max(0.002, 0.009) = 0.009; scale = 0.009/127.
  const Encoding ts = compute_encoding(-0.001f, 0.002f, 8, EncodingKind::kSymmetric);
  CHECK(ts.offset == -128);
  CHECK(std::fabs(ts.scale - 0.009 / 127) < 1e-10);
  // Negative-only tiny [-0.005, -0.001]: max = max(0, -0.005+0.01) = 0.005, now 0 is inside:
  // scale = 0.01/255, -min/scale = 0.005*25500 = 127.5 in exact decimals, but float(0.005) =
  // 0.00499999988824 so it is 127.49999715 -> round = 127, offset -127.
  const Encoding tn = compute_encoding(-0.005f, -0.001f, 8, EncodingKind::kAsymmetric);
  CHECK(tn.offset == -127);
  CHECK(std::fabs(tn.scale - 0.01 / 255) < 1e-9);
}

TEST_CASE("quant encoding: 16-bit and 2-bit grids") {
  // 16-bit asymmetric [-1, 65535/1024 - 1]: N = 65535, scale = (65535/1024)/65535 = 1/1024,
  // offset = -round(1024) = -1024, min -1, max 62.9990234375.
  const Encoding e = compute_encoding(-1.f, 62.9990234375f, 16, EncodingKind::kAsymmetric);
  check_enc(e, 1.0 / 1024, -1024, -1.0, 62.9990234375);
  const float k = 1.0f / 1024;
  const std::vector<float> x = {1.f, 0.5f * k, 1.5f * k, 100.f, -100.f};
  // x/scale: 1024, 0.5->0, 1.5->2, clamp; +1024: 2048, 1024, 1026, 65535, 0.
  CHECK(qcodes<uint16_t>(e, CodeDomain::kUnsigned, x) ==
        std::vector<uint16_t>{2048, 1024, 1026, 65535, 0});
  CHECK(qcodes<int32_t>(e, CodeDomain::kUnsigned, x) ==
        std::vector<int32_t>{2048, 1024, 1026, 65535, 0});
  // Signed 16-bit (shift 32768): -30720, -31744, -31742, 32767, -32768.
  CHECK(qcodes<int16_t>(e, CodeDomain::kSigned, x) ==
        std::vector<int16_t>{-30720, -31744, -31742, 32767, -32768});
  // 16-bit symmetric: absmax 32767/1024 -> scale 1/1024, offset -32768.
  check_enc(compute_encoding(-1.f, 31.9990234375f, 16, EncodingKind::kSymmetric), 1.0 / 1024,
            -32768, -32.0, 31.9990234375);
  // 2-bit symmetric: N=3, scale = absmax/floor(1.5) = 1, offset = -ceil(1.5) = -2: grid {-2..1}.
  const Encoding s2 = compute_encoding(-1.f, 1.f, 2, EncodingKind::kSymmetric);
  check_enc(s2, 1.0, -2, -2.0, 1.0);
  CHECK(qcodes<int8_t>(s2, CodeDomain::kSigned, {-5.f, -0.5f, 0.5f, 1.5f, 9.f}) ==
        std::vector<int8_t>{-2, 0, 0, 1, 1});
  // 2-bit strict: N=2, scale = 1/1, offset -1: grid {-1, 0, 1}; signed shift 1.
  const Encoding t2 = compute_encoding(-1.f, 1.f, 2, EncodingKind::kStrictSymmetric);
  check_enc(t2, 1.0, -1, -1.0, 1.0);
  CHECK(qcodes<int8_t>(t2, CodeDomain::kSigned, {-5.f, -0.5f, 0.5f, 1.5f}) ==
        std::vector<int8_t>{-1, 0, 0, 1});
}

TEST_CASE("quant encoding: invalid inputs are rejected") {
  for (int bw : {-1, 0, 1, 17, 32})
    CHECK_THROWS_AS(compute_encoding(-1.f, 1.f, bw, EncodingKind::kAsymmetric), Error);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(compute_encoding(nan, 1.f, 8, EncodingKind::kAsymmetric), Error);
  CHECK_THROWS_AS(compute_encoding(-1.f, nan, 8, EncodingKind::kSymmetric), Error);
  CHECK_THROWS_AS(compute_encoding(2.f, 1.f, 8, EncodingKind::kSymmetric), Error);
  // Infinite bounds are clamped to +-FLT_MAX: symmetric scale = FLT_MAX/127 (finite, normal).
  const float inf = std::numeric_limits<float>::infinity();
  const Encoding e = compute_encoding(-inf, inf, 8, EncodingKind::kSymmetric);
  CHECK(near(e.scale, static_cast<double>(FLT_MAX) / 127));
  validate_encoding(e, "inf");
  // Bad encodings from elsewhere.
  Encoding bad = compute_encoding(-1.f, 1.f, 8, EncodingKind::kAsymmetric);
  bad.scale = 1e-45;  // denormal as float
  CHECK_THROWS_AS(validate_encoding(bad, "t"), Error);
  bad.scale = 0.0;
  CHECK_THROWS_AS(validate_encoding(bad, "t"), Error);
  bad.scale = 0.1;
  bad.offset = 3;
  CHECK_THROWS_AS(validate_encoding(bad, "t"), Error);
  bad.offset = -256;
  CHECK_THROWS_AS(validate_encoding(bad, "t"), Error);
  // Codes that do not fit the output type; wrong span size.
  const Encoding u16 = compute_encoding(0.f, 1.f, 16, EncodingKind::kAsymmetric);
  std::vector<float> x(4, 0.f);
  std::vector<uint8_t> q8(4);
  CHECK_THROWS_AS(quantize<uint8_t>(x, q8, prepare_quant(u16, 4, CodeDomain::kUnsigned)), Error);
  const Encoding a8 = compute_encoding(-1.f, 1.f, 8, EncodingKind::kAsymmetric);
  std::vector<int8_t> s8(4);
  CHECK_THROWS_AS(quantize<int8_t>(x, s8, prepare_quant(a8, 4, CodeDomain::kUnsigned)), Error);
  CHECK_THROWS_AS(quantize<uint8_t>(x, q8, prepare_quant(a8, 5, CodeDomain::kUnsigned)), Error);
  // Wrong number of per-channel encodings, mixed bitwidths.
  TensorEncoding te;
  te.axis = 0;
  te.encodings = {a8, a8};
  const int64_t shape[2] = {3, 2};
  CHECK_THROWS_AS(prepare_quant(te, shape, CodeDomain::kUnsigned), Error);
  te.encodings.push_back(compute_encoding(-1.f, 1.f, 4, EncodingKind::kAsymmetric));
  CHECK_THROWS_AS(prepare_quant(te, shape, CodeDomain::kUnsigned), Error);
  te.axis = 2;
  CHECK_THROWS_AS(prepare_quant(te, shape, CodeDomain::kUnsigned), Error);
}

TEST_CASE("quant encoding: NaN and infinity handling") {
  const Encoding e = compute_encoding(-1.f, 2.75f, 4, EncodingKind::kAsymmetric);  // zp 4
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // NaN -> the zero point code; +inf -> qmax; -inf -> qmin.
  CHECK(qcodes<int32_t>(e, CodeDomain::kUnsigned, {nan, inf, -inf}) ==
        std::vector<int32_t>{4, 15, 0});
  const auto y = qdq(e, {nan, inf, -inf, -0.f});
  CHECK(std::isnan(y[0]));  // fused qdq keeps NaN
  CHECK(y[1] == 2.75f);
  CHECK(y[2] == -1.f);
  CHECK(y[3] == 0.f);
}

TEST_CASE("quant encoding: per-channel and per-block layouts") {
  // All encodings of a tensor share the flags: symmetric 8-bit, absmax/127 = scale:
  // channel 0: absmax 127/64 -> 1/64; channel 1: 127/128 -> 1/128; channel 2: 127/32 -> 1/32.
  const Encoding c0 = compute_encoding(-1.f, 1.984375f, 8, EncodingKind::kSymmetric);
  const Encoding c1 = compute_encoding(-0.5f, 0.9921875f, 8, EncodingKind::kSymmetric);
  const Encoding c2 = compute_encoding(-3.96875f, 0.f, 8, EncodingKind::kSymmetric);
  CHECK(c0.scale == 1.0 / 64);
  CHECK(c1.scale == 1.0 / 128);
  CHECK(c2.scale == 1.0 / 32);
  // The value 0.0625 = 4/64 = 8/128 = 2/32, and 1.5 = 96/64 = 192/128 -> 127 (clamp) = 48/32.
  TensorEncoding te;
  te.encodings = {c0, c1, c2};

  SUBCASE("axis 0 of [3, 2] (channels outermost, uniform runs)") {
    te.axis = 0;
    const int64_t shape[2] = {3, 2};
    const std::vector<float> x = {0.0625f, 1.5f, 0.0625f, 1.5f, 0.0625f, 1.5f};
    const std::vector<int8_t> want = {4, 96, 8, 127, 2, 48};
    for (bool ref : {true, false}) {
      const PreparedQuant p = prepare_quant(te, shape, CodeDomain::kSigned);
      std::vector<int8_t> q(6);
      quantize<int8_t>(x, q, p, ref);
      CHECK(q == want);
      std::vector<float> y(6);
      dequantize<int8_t>(q, y, p, ref);
      // 4/64, 96/64, 8/128, 127/128, 2/32, 48/32.
      CHECK(y == std::vector<float>{0.0625f, 1.5f, 0.0625f, 0.9921875f, 0.0625f, 1.5f});
    }
  }
  SUBCASE("axis 1 of [2, 3] (channels innermost, per-element parameters)") {
    te.axis = 1;
    const int64_t shape[2] = {2, 3};
    const std::vector<float> x = {0.0625f, 0.0625f, 0.0625f, 1.5f, 1.5f, 1.5f};
    for (bool ref : {true, false}) {
      const PreparedQuant p = prepare_quant(te, shape, CodeDomain::kUnsigned);
      std::vector<uint8_t> q(6);
      quantize<uint8_t>(x, q, p, ref);
      // Unsigned: signed + 128.
      CHECK(q == std::vector<uint8_t>{132, 136, 130, 224, 255, 176});
      std::vector<float> y(6);
      quantize_dequantize(x, y, p, ref);
      CHECK(y == std::vector<float>{0.0625f, 0.0625f, 0.0625f, 1.5f, 0.9921875f, 1.5f});
    }
  }
  SUBCASE("per block: [2, 4] with blocks of 2 along axis 1") {
    // Grid [2, 2]: row 0 blocks {c0, c1}, row 1 blocks {c2, c0}.
    TensorEncoding tb;
    tb.axis = 1;
    tb.block_size = 2;
    tb.encodings = {c0, c1, c2, c0};
    const int64_t shape[2] = {2, 4};
    const std::vector<float> x(8, 0.0625f);
    for (bool ref : {true, false}) {
      std::vector<int8_t> q(8);
      quantize<int8_t>(x, q, prepare_quant(tb, shape, CodeDomain::kSigned), ref);
      CHECK(q == std::vector<int8_t>{4, 4, 8, 8, 2, 2, 4, 4});
    }
  }
  SUBCASE("per block: [3, 2] with blocks of 2 along axis 0 (last block short, inner 2)") {
    // Grid [ceil(3/2)=2, 2]: rows 0-1 use {c0, c1} per column, row 2 uses {c2, c0}.
    TensorEncoding tb;
    tb.axis = 0;
    tb.block_size = 2;
    tb.encodings = {c0, c1, c2, c0};
    const int64_t shape[2] = {3, 2};
    const std::vector<float> x(6, 0.0625f);
    for (bool ref : {true, false}) {
      std::vector<int8_t> q(6);
      quantize<int8_t>(x, q, prepare_quant(tb, shape, CodeDomain::kSigned), ref);
      CHECK(q == std::vector<int8_t>{4, 8, 4, 8, 2, 4});
    }
  }
}

namespace {

// Random data with exact ties (k + 0.5) * scale for power-of-two scales, out-of-range values,
// NaN, +-inf, -0 and denormals.
std::vector<float> tricky(size_t n, float scale, std::mt19937& g) {
  std::uniform_real_distribution<float> u(-300.f, 300.f);
  std::uniform_int_distribution<int> kind(0, 9), k(-200, 200);
  std::vector<float> v(n);
  for (float& x : v) {
    switch (kind(g)) {
      case 0: x = (static_cast<float>(k(g)) + 0.5f) * scale; break;
      case 1: x = std::numeric_limits<float>::quiet_NaN(); break;
      case 2: x = (k(g) & 1) ? std::numeric_limits<float>::infinity() : -1e30f; break;
      case 3: x = (k(g) & 1) ? -0.f : 1e-40f; break;
      default: x = u(g) * scale; break;
    }
  }
  return v;
}

template <typename T>
void compare_codes(const std::vector<float>& x, const PreparedQuant& p) {
  std::vector<T> r(x.size()), s(x.size());
  quantize<T>(x, r, p, true);
  quantize<T>(x, s, p, false);
  REQUIRE(r == s);
  std::vector<float> dr(x.size()), ds(x.size());
  dequantize<T>(r, dr, p, true);
  dequantize<T>(r, ds, p, false);
  if (!dr.empty()) REQUIRE(std::memcmp(dr.data(), ds.data(), dr.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("quant encoding: Highway kernels equal the scalar reference bit for bit on every target") {
  std::mt19937 g(7);
  struct Shape { std::vector<int64_t> dims; int axis; int block; };
  const std::vector<Shape> shapes = {{{37}, -1, 0},        {{5, 19}, 0, 0},     {{19, 5}, 1, 0},
                                     {{3, 7, 11}, 1, 0},    {{4, 70}, 1, 32},    {{70, 3}, 0, 16},
                                     {{2, 45, 5}, 1, 8},    {{0, 3}, 1, 0}};
  const EncodingKind kinds[] = {EncodingKind::kAsymmetric, EncodingKind::kSymmetric,
                                EncodingKind::kStrictSymmetric, EncodingKind::kUnsignedSymmetric};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    const std::string target_name = hwy::TargetName(target);
    CAPTURE(target_name);
    for (const Shape& sh : shapes) {
      for (EncodingKind kind : kinds) {
        for (int bw : {4, 8, 16}) {
          CAPTURE(bw);
          TensorEncoding te;
          te.axis = sh.axis;
          te.block_size = sh.block;
          const AxisLayout l = axis_layout(sh.dims, sh.axis);
          const size_t count = expected_encoding_count(l, sh.axis, sh.block);
          std::uniform_real_distribution<float> r(-3.f, 3.f);
          for (size_t i = 0; i < count; ++i) {
            float a = r(g), b = r(g);
            if (a > b) std::swap(a, b);
            if (i % 3 == 0) {  // power-of-two scale so that ties are exact
              const float s = std::ldexp(1.f, -static_cast<int>(i % 7) - 2);
              a = -s * 100.f;
              b = s * 100.f;
            }
            te.encodings.push_back(compute_encoding(a, b, bw, kind));
          }
          const float s0 = static_cast<float>(te.encodings[0].scale);
          const std::vector<float> x = tricky(l.size(), s0, g);
          for (CodeDomain d : {CodeDomain::kUnsigned, CodeDomain::kSigned}) {
            const PreparedQuant p = prepare_quant(te, sh.dims, d);
            compare_codes<int32_t>(x, p);
            if (bw <= 8)
              d == CodeDomain::kSigned ? compare_codes<int8_t>(x, p) : compare_codes<uint8_t>(x, p);
            else
              d == CodeDomain::kSigned ? compare_codes<int16_t>(x, p)
                                       : compare_codes<uint16_t>(x, p);
            std::vector<float> yr(x.size()), ys(x.size());
            quantize_dequantize(x, yr, p, true);
            quantize_dequantize(x, ys, p, false);
            if (!yr.empty()) REQUIRE(std::memcmp(yr.data(), ys.data(), yr.size() * sizeof(float)) == 0);
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}
