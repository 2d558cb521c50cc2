// octet.QuantizeDequantize: hand-computed values and optimized == reference, bit for bit.
#include <doctest/doctest.h>

#include <cstring>

#include "tests/support/op_test_util.h"

using namespace octet;

namespace {

test::OpCase fq_case(HostTensor x, std::vector<float> scale, std::vector<int64_t> offset,
                     int64_t qmin, int64_t qmax, int64_t axis = -1) {
  test::OpCase c;
  c.op = "octet.QuantizeDequantize";
  c.inputs = {std::move(x)};
  c.attrs.set("scale", scale);
  c.attrs.set("offset", offset);
  c.attrs.set("qmin", qmin);
  c.attrs.set("qmax", qmax);
  if (axis >= 0) c.attrs.set("axis", axis);
  return c;
}

}  // namespace

TEST_CASE("fake quant: hand-computed 8-bit asymmetric values") {
  // scale 0.1, offset -10 (zero point 10): grid (q - 10) * 0.1 for q in [0, 255],
  // i.e. [-1.0, 24.5]. 0.25/0.1 = 2.5 -> ties to even 2 -> 0.2; 0.35/0.1 = 3.4999998 -> 3;
  // -5 clamps to -1.0; 100 clamps to 24.5.
  auto c = fq_case(HostTensor::from<float>("x", {5}, {0.25f, 0.33f, -5.f, 100.f, 0.f}), {0.1f},
                   {-10}, 0, 255);
  const HostTensor result = test::run_op(c, true)[0];
  auto out = result.values<float>();
  CHECK(out[0] == doctest::Approx(0.2f));
  CHECK(out[1] == doctest::Approx(0.3f));
  CHECK(out[2] == doctest::Approx(-1.0f));
  CHECK(out[3] == doctest::Approx(24.5f));
  CHECK(out[4] == 0.f);  // zero is exactly representable
}

TEST_CASE("fake quant: optimized equals reference bit for bit") {
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t c = 1 + trial % 7, inner = 1 + (trial * 13) % 37;
    const int64_t n = 2 * c * inner;
    std::vector<float> x = test::random_floats(static_cast<size_t>(n), 100 + trial, -3.f, 3.f);
    const float scale = 0.0125f * (1 + trial % 5);
    // Exact ties: multiples of scale/2.
    for (int64_t i = 0; i < n; i += 3) x[i] = scale * (0.5f + static_cast<float>((i % 11) - 5));
    const bool per_channel = trial % 2;
    std::vector<float> scales(per_channel ? c : 1);
    std::vector<int64_t> offsets(scales.size());
    for (size_t k = 0; k < scales.size(); ++k) {
      scales[k] = scale * (1.f + 0.25f * k);
      offsets[k] = -static_cast<int64_t>((trial * 7 + k * 31) % 256);
    }
    auto tcase = fq_case(HostTensor::from<float>("x", {2, c, inner}, x), scales, offsets, 0,
                         trial % 3 ? 255 : 15, per_channel ? 1 : -1);
    auto ref = test::run_op(tcase, true)[0];
    auto opt = test::run_op(tcase, false, 2)[0];
    CAPTURE(trial);
    CHECK(std::memcmp(ref.bytes.data(), opt.bytes.data(), ref.bytes.size()) == 0);
  }
}

TEST_CASE("fake quant: bad attributes are errors") {
  auto x = HostTensor::from<float>("x", {2, 3}, {0, 1, 2, 3, 4, 5});
  CHECK_THROWS_AS(test::run_op(fq_case(x, {0.f}, {0}, 0, 255), true), Error);
  CHECK_THROWS_AS(test::run_op(fq_case(x, {0.1f, 0.2f}, {0}, 0, 255, 1), true), Error);
  CHECK_THROWS_AS(test::run_op(fq_case(x, {0.1f, 0.2f}, {0, 0}, 0, 255, 1), true), Error);
  CHECK_THROWS_AS(test::run_op(fq_case(x, {0.1f}, {0}, 5, 5), true), Error);
}
