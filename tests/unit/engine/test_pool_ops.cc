// MaxPool / AveragePool / Global*Pool: hand-checked values, optimized vs reference, errors.
#include <doctest/doctest.h>

#include "tests/support/op_test_util.h"

using namespace octet;

namespace {

HostTensor nchw_to_nhwc(const HostTensor& t) {
  const int64_t N = t.dims[0], C = t.dims[1], H = t.dims[2], W = t.dims[3];
  std::vector<float> out(t.numel());
  auto v = t.values<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) out[((n * H + h) * W + w) * C + c] = v[((n * C + c) * H + h) * W + w];
  return HostTensor::from<float>(t.name, {N, H, W, C}, out);
}

test::OpCase pool_case(const char* op, Dims dims, Attributes a, uint32_t seed) {
  test::OpCase c;
  c.op = op;
  c.attrs = std::move(a);
  c.inputs = {HostTensor::from<float>("x", dims, test::random_floats(checked_numel(dims), seed))};
  c.opset = 22;
  return c;
}

}  // namespace

TEST_CASE("pool: hand-checked MaxPool and AveragePool values") {
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i + 1);
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{2, 2});
  a.set("strides", std::vector<int64_t>{2, 2});
  test::OpCase c{.op = "MaxPool", .attrs = a, .inputs = {HostTensor::from<float>("x", {1, 1, 4, 4}, x)}};
  for (bool ref : {true, false}) {
    auto out = test::run_op(c, ref);
    CHECK(out[0].dims == Dims{1, 1, 2, 2});
    CHECK(std::vector<float>(out[0].values<float>().begin(), out[0].values<float>().end()) ==
          std::vector<float>{6, 8, 14, 16});
  }
  // 3x3 average with pads 1: the corner averages 4 values, or 9 with count_include_pad.
  Attributes b;
  b.set("kernel_shape", std::vector<int64_t>{3, 3});
  b.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  c.op = "AveragePool";
  c.attrs = b;
  for (bool ref : {true, false}) {
    auto out = test::run_op(c, ref);
    CHECK(out[0].dims == Dims{1, 1, 4, 4});
    CHECK(out[0].values<float>()[0] == doctest::Approx((1 + 2 + 5 + 6) / 4.0));
  }
  c.attrs.set("count_include_pad", int64_t{1});
  for (bool ref : {true, false})
    CHECK(test::run_op(c, ref)[0].values<float>()[0] == doctest::Approx((1 + 2 + 5 + 6) / 9.0));
  // ceil_mode: 5 -> 3 windows of 2 with stride 2; a window starting in the pad is dropped.
  Attributes m;
  m.set("kernel_shape", std::vector<int64_t>{2});
  m.set("strides", std::vector<int64_t>{2});
  m.set("ceil_mode", int64_t{1});
  test::OpCase d{.op = "MaxPool", .attrs = m,
                 .inputs = {HostTensor::from<float>("x", {1, 1, 5}, {1, 5, 2, 4, 3})}};
  auto out = test::run_op(d, false);
  CHECK(out[0].dims == Dims{1, 1, 3});
  CHECK(out[0].values<float>()[2] == 3.f);
}

TEST_CASE("pool: optimized NCHW kernels match the reference on random shapes") {
  std::mt19937 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < 60; ++iter) {
    const int rank = 1 + iter % 3;
    Dims dims{pick(1, 2), pick(1, 5)};
    std::vector<int64_t> k, s, d, pads(2 * rank);
    for (int r = 0; r < rank; ++r) {
      k.push_back(pick(1, 3));
      s.push_back(pick(1, 3));
      d.push_back(pick(1, 2));
      int64_t ek = (k.back() - 1) * d.back() + 1;
      dims.push_back(pick(static_cast<int>(ek), rank == 3 ? 6 : 12));
      pads[r] = pick(0, static_cast<int>(ek) - 1);
      pads[r + rank] = pick(0, static_cast<int>(ek) - 1);
    }
    Attributes a;
    a.set("kernel_shape", k);
    a.set("strides", s);
    a.set("dilations", d);
    const int mode = pick(0, 3);
    if (mode == 3) a.set("auto_pad", std::string(pick(0, 1) ? "SAME_UPPER" : "SAME_LOWER"));
    else a.set("pads", pads);
    a.set("ceil_mode", int64_t{pick(0, 1)});
    const char* op = iter % 2 ? "MaxPool" : "AveragePool";
    if (!(iter % 2)) a.set("count_include_pad", int64_t{pick(0, 1)});
    auto c = pool_case(op, dims, a, 100 + iter);
    INFO(op << " iter " << iter << " dims " << dims_to_string(dims));
    test::check_close(test::run_op(c, false, 2)[0], test::run_op(c, true)[0], 1e-5f, 1e-6f);
  }
}

TEST_CASE("pool: NHWC layout matches NCHW, optimized and reference") {
  std::mt19937 rng(11);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < 24; ++iter) {
    Dims dims{pick(1, 2), pick(1, 37), pick(3, 9), pick(3, 9)};
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{pick(1, 3), pick(1, 3)});
    a.set("strides", std::vector<int64_t>{pick(1, 2), pick(1, 2)});
    a.set("pads", std::vector<int64_t>{pick(0, 0), pick(0, 0), 0, 0});
    if (iter % 3 == 0) a.set("pads", std::vector<int64_t>{1, 0, 0, 1}), a.set("kernel_shape", std::vector<int64_t>{3, 3});
    a.set("ceil_mode", int64_t{iter % 4 == 1});
    a.set("count_include_pad", int64_t{iter % 5 == 0});
    const char* op = iter % 2 ? "MaxPool" : "AveragePool";
    auto c = pool_case(op, dims, a, 300 + iter);
    HostTensor want = nchw_to_nhwc(test::run_op(c, true)[0]);
    c.attrs.set("_layout", std::string("NHWC"));
    c.inputs[0] = nchw_to_nhwc(c.inputs[0]);
    INFO(op << " iter " << iter);
    test::check_close(test::run_op(c, false, 2)[0], want);
    test::check_close(test::run_op(c, true)[0], want);
  }
}

TEST_CASE("pool: global pools, NCHW and NHWC") {
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    auto c = pool_case(op, {2, 300, 5, 7}, {}, 5);
    auto ref = test::run_op(c, true)[0];
    CHECK(ref.dims == Dims{2, 300, 1, 1});
    test::check_close(test::run_op(c, false, 2)[0], ref);
    c.attrs.set("_layout", std::string("NHWC"));
    c.inputs[0] = nchw_to_nhwc(c.inputs[0]);
    auto nhwc = test::run_op(c, false, 2)[0];
    CHECK(nhwc.dims == Dims{2, 1, 1, 300});
    HostTensor flat = ref;
    flat.dims = nhwc.dims;
    test::check_close(nhwc, flat);
    test::check_close(test::run_op(c, true)[0], flat);
  }
  test::OpCase g{.op = "GlobalAveragePool",
                 .inputs = {HostTensor::from<float>("x", {1, 1, 2, 2}, {1, 2, 3, 4})}};
  CHECK(test::run_op(g, false)[0].values<float>()[0] == 2.5f);
}

TEST_CASE("pool: MaxPool on uint8 and with Indices") {
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{2, 2});
  test::OpCase c{.op = "MaxPool", .attrs = a,
                 .inputs = {HostTensor::from<uint8_t>("x", {1, 1, 2, 3}, {1, 9, 3, 4, 5, 200})}};
  auto out = test::run_op(c, false);
  CHECK(out[0].values<uint8_t>()[0] == 9);
  CHECK(out[0].values<uint8_t>()[1] == 200);
  test::OpCase f{.op = "MaxPool", .attrs = a,
                 .inputs = {HostTensor::from<float>("x", {1, 1, 2, 3}, {1, 9, 3, 4, 5, 2})},
                 .num_outputs = 2};
  auto r = test::run_op(f, false);
  CHECK(r[1].values<int64_t>()[0] == 1);
  CHECK(r[1].values<int64_t>()[1] == 1);
  f.attrs.set("storage_order", int64_t{1});
  CHECK(test::run_op(f, false)[1].values<int64_t>()[0] == 2);  // (h=0, w=1) column-major
}

TEST_CASE("pool: bad attributes are rejected") {
  auto c = pool_case("MaxPool", {1, 1, 4, 4}, {}, 1);
  CHECK_THROWS_AS(test::run_op(c, false), Error);  // no kernel_shape
  c.attrs.set("kernel_shape", std::vector<int64_t>{2});
  CHECK_THROWS_WITH_AS(test::run_op(c, false), doctest::Contains("kernel_shape"), Error);
  c.attrs.set("kernel_shape", std::vector<int64_t>{2, 0});
  CHECK_THROWS_AS(test::run_op(c, false), Error);
  c.attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  c.attrs.set("pads", std::vector<int64_t>{2, 0, 0, 0});
  CHECK_THROWS_WITH_AS(test::run_op(c, false), doctest::Contains("pads"), Error);
  c.attrs.set("pads", std::vector<int64_t>{0, 0, 0});
  CHECK_THROWS_AS(test::run_op(c, false), Error);
  c.attrs.set("pads", std::vector<int64_t>{0, 0, 0, 0});
  c.attrs.set("kernel_shape", std::vector<int64_t>{5, 2});
  CHECK_THROWS_AS(test::run_op(c, false), Error);  // kernel larger than input
  c.attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  c.attrs.set("strides", std::vector<int64_t>{0, 1});
  CHECK_THROWS_AS(test::run_op(c, false), Error);
  c.attrs.set("strides", std::vector<int64_t>{1, 1});
  c.attrs.set("auto_pad", std::string("BOGUS"));
  CHECK_THROWS_AS(test::run_op(c, false), Error);
}
