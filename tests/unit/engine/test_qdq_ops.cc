// QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear: known values, optimized vs reference.
#include <doctest/doctest.h>

#include <random>

#include "kernels/quantize_linear.h"
#include "tests/support/op_test_util.h"

using namespace octet;
using namespace octet::test;

namespace {

HostTensor raw(std::string name, DType t, Dims dims, std::vector<std::byte> bytes) {
  HostTensor h;
  h.name = std::move(name);
  h.dtype = t;
  h.dims = std::move(dims);
  h.bytes = std::move(bytes);
  return h;
}

std::vector<std::byte> bytes_of(DType t, const std::vector<int32_t>& v) {
  const size_t n = v.size();
  std::vector<std::byte> b(dtype_storage_bytes(t, static_cast<int64_t>(n)));
  for (size_t i = 0; i < n; ++i) {
    switch (t) {
      case DType::kI8: case DType::kU8: b[i] = std::byte(static_cast<uint8_t>(v[i])); break;
      case DType::kI16: case DType::kU16: {
        const uint16_t u = static_cast<uint16_t>(v[i]);
        std::memcpy(&b[2 * i], &u, 2);
        break;
      }
      case DType::kI32: std::memcpy(&b[4 * i], &v[i], 4); break;
      default: b[i / 2] |= std::byte((static_cast<uint8_t>(v[i]) & 0xF) << (4 * (i % 2)));
    }
  }
  return b;
}

}  // namespace

TEST_CASE("qdq ops: QuantizeLinear rounds half to even and saturates (u8, i8, i4)") {
  OpCase c{.op = "QuantizeLinear"};
  c.opset = 21;
  c.inputs = {HostTensor::from<float>("x", {8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.f, -300.f, 3.f}),
              HostTensor::from<float>("s", {}, {1.f}),
              HostTensor::from<uint8_t>("z", {}, {10})};
  auto y = run_op(c, false);
  CHECK(y[0].dtype == DType::kU8);
  std::vector<uint8_t> want{10, 12, 12, 10, 8, 255, 0, 13};
  CHECK(std::vector<uint8_t>(y[0].values<uint8_t>().begin(), y[0].values<uint8_t>().end()) == want);

  c.inputs[2] = HostTensor::from<int8_t>("z", {}, {-1});
  y = run_op(c, true);
  std::vector<int8_t> want8{-1, 1, 1, -1, -3, 127, -128, 2};
  CHECK(std::vector<int8_t>(y[0].values<int8_t>().begin(), y[0].values<int8_t>().end()) == want8);

  c.inputs[2] = raw("z", DType::kI4, {}, bytes_of(DType::kI4, {1}));
  for (bool ref : {false, true}) {
    y = run_op(c, ref);
    CHECK(y[0].dtype == DType::kI4);
    // 1, 3, 3, 1, -1, 7, -8, 4 packed low nibble first
    CHECK(y[0].bytes == bytes_of(DType::kI4, {1, 3, 3, 1, -1, 7, -8, 4}));
  }
  // No zero point: uint8 (output_dtype picks another type at opset 21).
  c.inputs.resize(2);
  y = run_op(c, false);
  CHECK(y[0].dtype == DType::kU8);
  c.attrs.set("output_dtype", int64_t{5});
  y = run_op(c, false);
  CHECK(y[0].dtype == DType::kI16);
  c.attrs.set("output_dtype", int64_t{17});
  CHECK_THROWS(run_op(c, false));  // float8
}

TEST_CASE("qdq ops: bad scales and zero points are refused") {
  OpCase c{.op = "DequantizeLinear"};
  c.inputs = {HostTensor::from<uint8_t>("x", {2, 3}, {1, 2, 3, 4, 5, 6}),
              HostTensor::from<float>("s", {2}, {1.f, 2.f}), HostTensor::from<uint8_t>("z", {2}, {0, 0})};
  CHECK_THROWS(run_op(c, false));  // axis 1 has 3 channels
  c.attrs.set("axis", int64_t{0});
  CHECK_NOTHROW(run_op(c, false));
  c.attrs.set("axis", int64_t{5});
  CHECK_THROWS(run_op(c, false));
  c.attrs.set("axis", int64_t{0});
  c.inputs[2] = HostTensor::from<int8_t>("z", {2}, {0, 0});
  CHECK_THROWS(run_op(c, false));  // zero point type differs from x
}

TEST_CASE("qdq ops: optimized equals reference (per-tensor, per-axis, blocked; all types)") {
  std::mt19937 rng(7);
  const std::vector<DType> types{DType::kU8, DType::kI8, DType::kU16, DType::kI16, DType::kU4, DType::kI4};
  for (int iter = 0; iter < 60; ++iter) {
    const DType t = types[iter % types.size()];
    const int rank = 1 + static_cast<int>(rng() % 4);
    Dims dims;
    for (int k = 0; k < rank; ++k) dims.push_back(1 + rng() % (k == rank - 1 ? 70 : 6));
    if (iter % 10 == 9) dims.back() = 9000;  // threaded path
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    const int mode = iter % 3;  // 0 per-tensor, 1 per-axis, 2 blocked
    const int64_t axis = rng() % rank;
    const int64_t block = 1 + rng() % 4;
    Dims sdims;
    if (mode == 1) sdims = {dims[axis]};
    if (mode == 2) {
      sdims = dims;
      sdims[axis] = (dims[axis] + block - 1) / block;
    }
    int64_t ns = 1;
    for (int64_t d : sdims) ns *= d;
    std::vector<float> scale = random_floats(ns, 100 + iter, 0.001f, 0.05f);
    std::uniform_int_distribution<int32_t> zd(kernels::qdq_min(t), kernels::qdq_max(t));
    std::vector<int32_t> zp(ns);
    for (int32_t& z : zp) z = zd(rng);
    OpCase q{.op = "QuantizeLinear"};
    q.opset = 21;
    if (mode) q.attrs.set("axis", axis - (iter % 2 ? rank : 0));
    if (mode == 2) q.attrs.set("block_size", block);
    const float range = t == DType::kU16 || t == DType::kI16 ? 2000.f : 10.f;
    q.inputs = {HostTensor::from<float>("x", dims, random_floats(n, iter, -range, range)),
                HostTensor::from<float>("s", sdims, scale), raw("z", t, sdims, bytes_of(t, zp))};
    CAPTURE(iter);
    CAPTURE(dtype_name(t));
    const auto a = run_op(q, false, 2), b = run_op(q, true);
    REQUIRE(a[0].dtype == t);
    CHECK(a[0].bytes == b[0].bytes);

    OpCase d = q;
    d.op = "DequantizeLinear";
    d.inputs[0] = a[0];
    d.inputs[0].name = "x";
    const auto c1 = run_op(d, false, 2), c2 = run_op(d, true);
    CHECK(c1[0].bytes == c2[0].bytes);
  }
}

TEST_CASE("qdq ops: DequantizeLinear of int32 and DynamicQuantizeLinear") {
  OpCase d{.op = "DequantizeLinear"};
  d.inputs = {HostTensor::from<int32_t>("x", {3}, {-1000000, 0, 7}), HostTensor::from<float>("s", {}, {0.5f})};
  auto y = run_op(d, false);
  CHECK(y[0].values<float>()[0] == -500000.f);
  CHECK(y[0].values<float>()[2] == 3.5f);

  OpCase dq{.op = "DynamicQuantizeLinear", .num_outputs = 3};
  dq.inputs = {HostTensor::from<float>("x", {4}, {-1.f, 0.f, 1.f, 2.f})};
  y = run_op(dq, false);
  CHECK(y[1].values<float>()[0] == doctest::Approx(3.f / 255.f));
  CHECK(y[2].values<uint8_t>()[0] == 85);
  CHECK(y[0].values<uint8_t>()[3] == 255);
  dq.inputs = {HostTensor::from<float>("x", {2}, {0.f, 0.f})};
  y = run_op(dq, false);
  CHECK(y[0].values<uint8_t>()[0] == 0);
}
